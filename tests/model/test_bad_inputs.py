"""Bad input, hostile input and the Hub's failures: one table, driven through core, CLI and app.

Every entry is an input a user (or a stranger's link or repository) can give, with the message
it must produce (a regex). Core tests expect ``InputError``; CLI tests expect exit status 2 and
the message on stderr, no traceback; app tests (``test_bad_inputs_app.py``-style, at the end of
this file) expect ``st.error`` with the message and the previous model and plan kept.

Hub cases run the real ``hf_hub_download`` against a fake Hub: huggingface_hub's HTTP client is
swapped for an ``httpx2.MockTransport`` (``set_client_factory``), so the library itself turns the
fake responses into its real error classes, and every request it makes is recorded.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import constants as hf_constants
from huggingface_hub import hf_hub_download
from huggingface_hub.utils import _http as hf_http

from lora_core import cli
from lora_core.model import guards, hub, presets, sources
from lora_core.errors import InputError
from lora_core.model.guards import MAX_CONFIG_BYTES
from lora_core.planning import MAX_TARGETS, Plan, PlanIndex, Target, parse_layers, validate_plan
from tests.helpers import cached_inventory

ROOT = Path(__file__).resolve().parents[2]
LLAMA_ID = "meta-llama/Meta-Llama-3.1-8B"
LLAMA = presets.preset_dict(LLAMA_ID)
LLAVA = presets.preset_dict("llava-hf/llava-1.5-7b-hf")
TRIED: dict[str, set[str]] = {"core": set(), "cli": set(), "app": set()}


def cfg(base: dict = LLAMA, **over) -> bytes:
    """A real preset config.json with some fields replaced, as bytes."""
    return json.dumps({**base, **over}).encode()


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_subconfigs(depth: int) -> bytes:
    return b'{"model_type": "llama", "x": ' + b'{"x": ' * depth + b"1" + b"}" * (depth + 1)


# ---------------------------------------------------------------- the table of bad inputs
# id -> (config.json bytes, expected message). Uploaded, read from disk, or served by the Hub.
BAD_CONFIGS: dict[str, tuple[bytes, str]] = {
    "malformed-json": (b'{"model_type": "llama", "hidden_size": 4096,', r"is not valid JSON"),
    "not-utf8": (b"\xff\xfe{\x00}", r"is not valid JSON"),
    "json-array": (b"[1, 2, 3]", r"holds JSON but not an object"),
    "not-a-model-config": (json.dumps({"name": "my dataset", "rows": 3}).encode(),
                           r"model_type: missing: this JSON is not a transformers model config"),
    "unknown-model-type": (cfg(model_type="frobnicator"), r"unknown model_type 'frobnicator'"),
    "needs-remote-code": (cfg(model_type="acme_lm", auto_map={"AutoConfig": "configuration_acme.AcmeConfig"}),
                          r"trust_remote_code: .*off by default; enable 'trust remote code' "
                          r"\(CLI: --trust-remote-code\)"),
    "layers-1e6": (cfg(num_hidden_layers=1_000_000),
                   r"num_hidden_layers: 1000000 is above the limit of 1024"),
    "hidden-1e9": (cfg(hidden_size=10**9), r"hidden_size: 1000000000 is above the limit of 131072"),
    "negative-heads": (cfg(num_attention_heads=-32), r"num_attention_heads: must not be negative, got -32"),
    "negative-vocab": (cfg(vocab_size=-1), r"vocab_size: must not be negative, got -1"),
    "fractional-layers": (cfg(num_hidden_layers=2.5), r"num_hidden_layers: must be an integer, got 2.5"),
    "text-size": (cfg(intermediate_size="14336"), r"intermediate_size: must be an integer, got '14336'"),
    "nan-size": (cfg().replace(b'"hidden_size": 4096', b'"hidden_size": NaN'),
                 r"hidden_size: must be an integer, got nan"),
    "nested-absurd": (cfg(LLAVA, text_config={**LLAVA["text_config"], "num_hidden_layers": 10**6}),
                      r"text_config.num_hidden_layers: 1000000 is above the limit of 1024"),
    "over-size-limit": (b" " * (MAX_CONFIG_BYTES + 1) + b"{}",
                        rf"{MAX_CONFIG_BYTES + 3:,} bytes is above the limit of {MAX_CONFIG_BYTES:,} bytes"),
    "deep-json": (deep_json(100_000), r"nests JSON too deeply"),
    "deep-subconfigs": (deep_subconfigs(500), r"nests deeper than 16 levels"),
    "huge-integer": (b'{"model_type": "llama", "hidden_size": ' + b"9" * 5000 + b"}", r"is not valid JSON"),
}

# id -> (repo id, revision, expected message); the fake Hub below decides by the repo's owner.
HUB_CASES: dict[str, tuple[str, str | None, str]] = {
    "hub-unknown-id": ("nobody/no-such-model", None,
                       r"model id: no model 'nobody/no-such-model' on the Hub .*check the spelling"),
    "hub-gated-no-token": ("gated-org/gated-model", None,
                           r"token: 'gated-org/gated-model' is gated: accept its licence .* HF_TOKEN"),
    "hub-bad-revision": ("good-org/tiny-llama", "no-such-branch",
                         r"revision: 'good-org/tiny-llama' has no revision 'no-such-branch'"),
    "hub-no-config": ("empty-org/not-a-model", None, r"'empty-org/not-a-model' has no config.json"),
    "hub-invalid-id": ("not a/valid id!", None, r"model id: 'not a/valid id!' is not a valid Hub id"),
    "hub-remote-code": ("acme/acme-lm", None, r"trust_remote_code: .*off by default"),
    "hub-absurd-config": ("evil/huge-model", None, r"num_hidden_layers: 1000000 is above the limit"),
}
HUB_FILES: dict[str, bytes] = {
    "good-org/tiny-llama": cfg(),
    "acme/acme-lm": BAD_CONFIGS["needs-remote-code"][0],
    "evil/huge-model": BAD_CONFIGS["layers-1e6"][0],
}
NO_NETWORK = r"model id: could not reach the Hugging Face Hub to fetch .*pick a preset"


@dataclass(frozen=True)
class PathCase:
    """A local path relative to a sandbox holding ``root/`` (allowed) and ``outside/``."""

    path: Callable[[Path], Path]
    match: str


OUTSIDE = r"path: .* is outside the allowed folder .*LORA_EXPLORER_ALLOWED_ROOT"
PATH_CASES: dict[str, PathCase] = {
    "path-outside-root": PathCase(lambda s: s / "outside" / "config.json", OUTSIDE),
    "path-dotdot": PathCase(lambda s: s / "root" / ".." / "outside" / "config.json", OUTSIDE),
    "path-dotdot-folder": PathCase(lambda s: s / "root" / "model" / ".." / ".." / "outside", OUTSIDE),
    "path-symlink-file": PathCase(lambda s: s / "root" / "link.json", OUTSIDE),
    "path-symlink-folder": PathCase(lambda s: s / "root" / "linked-model", OUTSIDE),
    "path-system-file": PathCase(lambda s: Path("/etc/hostname"), OUTSIDE),
    "path-missing": PathCase(lambda s: s / "root" / "missing" / "config.json", r"path: no config.json at"),
    "path-too-big": PathCase(lambda s: s / "root" / "big" / "config.json",
                             rf"bytes is above the limit of {MAX_CONFIG_BYTES:,} bytes"),
}


def sandbox(tmp: Path) -> Path:
    """``root/`` (the allowed folder: a model, links out, a huge file) and ``outside/``."""
    (tmp / "outside").mkdir()
    (tmp / "outside" / "config.json").write_bytes(cfg())
    (tmp / "root" / "model").mkdir(parents=True)
    (tmp / "root" / "model" / "config.json").write_bytes(cfg())
    (tmp / "root" / "link.json").symlink_to(tmp / "outside" / "config.json")
    (tmp / "root" / "linked-model").symlink_to(tmp / "outside")
    (tmp / "root" / "big").mkdir()
    with open(tmp / "root" / "big" / "config.json", "wb") as f:  # sparse: no disk used
        f.truncate(MAX_CONFIG_BYTES * 50)
    return tmp


QV = (Target("q", 8), Target("v", 8))
# id -> (plan, expected message); validated against Llama-3.1-8B (32 layers).
PLAN_CASES: dict[str, tuple[Plan, str]] = {
    "rank-0": (Plan((Target("q", 0),)), r"rank for 'q': must be a positive integer, got 0; try 8"),
    "rank-negative": (Plan((Target("q", -8),)), r"rank for 'q': must be a positive integer, got -8"),
    "rank-fractional": (Plan((Target("q", 8.5),)), r"rank for 'q': must be a positive integer, got 8.5"),
    "rank-text": (Plan((Target("q", "8"),)), r"rank for 'q': must be a positive integer, got '8'"),
    "rank-huge": (Plan((Target("q", 10**6),)), r"rank for 'q': 1000000 is above 65536"),
    "alpha-0": (Plan((Target("q", 8, 0),)), r"alpha for 'q': must be positive, got 0"),
    "alpha-negative": (Plan((Target("q", 8, -16.0),)), r"alpha for 'q': must be positive, got -16.0"),
    "alpha-nan": (Plan((Target("q", 8, math.nan),)), r"alpha for 'q': must be positive, got nan"),
    "alpha-text": (Plan((Target("q", 8, "16"),)), r"alpha for 'q': must be positive, got '16'"),
    "empty-plan": (Plan(), r"targets: the plan targets nothing; switch on at least one target"),
    "layers-outside": (Plan(QV, layers=(0, 32)), r"layers: \[32\] outside this model's layers 0-31"),
    "layers-negative": (Plan(QV, layers=(-1, 3)), r"layers: \[-1\] outside this model's layers 0-31"),
    "layers-empty": (Plan(QV, layers=()), r"layers: the layer subset is empty"),
    "key-too-long": (Plan((Target("q" * 201, 8),)), r"target: a target key must be 1 to 200 characters"),
    "key-regex": (Plan((Target(r".*\.(q|v)_proj", 8),)), r"not a module name, role or group.*not a regular expression"),
    "key-matches-nothing": (Plan((Target("qq_proj", 8),)), r"target 'qq_proj': matches no module of this model; "
                            r"its module names are"),
    "too-many-targets": (Plan(tuple(Target(f"layers.{i}.self_attn.q_proj", 8) for i in range(MAX_TARGETS + 1))),
                         rf"targets: {MAX_TARGETS + 1} targets is above the limit of {MAX_TARGETS}"),
    "bias-mode": (Plan(QV, bias="some"), r"bias: must be none, all or lora_only, got 'some'"),
}
# id -> (layer text, expected message): what a user types in "Custom layers" or ``--layers``.
LAYER_TEXT_CASES: dict[str, tuple[str, str]] = {
    "layer-text-huge-range": ("0-999999999", r"layers: '0-999999999' is outside this model's layers 0-31"),
    "layer-text-backwards": ("7-3", r"layers: range 7-3 runs backwards; write 3-7"),
    "layer-text-garbage": ("first four", r"layers: 'first four' is not a layer or range"),
}


# ---------------------------------------------------------------- a fake Hub, real client
@dataclass
class FakeHub:
    """Records every request huggingface_hub sends; answers as the Hub does (X-Error-Code)."""

    requests: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append((request.method, request.url.path))
        parts = request.url.path.strip("/").split("/")  # owner/name/resolve/revision/file
        if len(parts) < 5 or parts[2] != "resolve":
            return httpx2.Response(404, request=request)
        repo, revision, filename = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
        owner = parts[0]
        if owner == "nobody":
            return self._error(request, 401, "RepoNotFound")
        if owner == "gated-org":
            return self._error(request, 401, "GatedRepo")
        if revision != "main":
            return self._error(request, 404, "RevisionNotFound")
        if repo not in HUB_FILES or filename != "config.json":
            return self._error(request, 404, "EntryNotFound")
        body = HUB_FILES[repo]
        headers = {"X-Repo-Commit": "0" * 40, "ETag": f'"{hash(body) & 0xFFFF:x}"', "Content-Length": str(len(body))}
        return httpx2.Response(200, headers=headers, content=body if request.method == "GET" else b"",
                               request=request)

    @staticmethod
    def _error(request: httpx2.Request, status: int, code: str) -> httpx2.Response:
        return httpx2.Response(status, headers={"X-Error-Code": code, "X-Error-Message": code}, request=request)

    def repo_files(self) -> set[str]:
        """Every file name requested from any repository (``/owner/name/resolve/rev/FILE``)."""
        return {"/".join(p.strip("/").split("/")[4:]) for _, p in self.requests if "/resolve/" in p}


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    """Route huggingface_hub through a fake Hub; a fresh cache; the reachability probe says yes."""
    fake = FakeHub()
    hf_http.set_client_factory(lambda: httpx2.Client(
        transport=httpx2.MockTransport(fake), event_hooks={"request": [hf_http.hf_request_event_hook]},
        follow_redirects=True))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=0: True)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "LORA_EXPLORER_OFFLINE", "HF_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    yield fake
    hf_http.set_client_factory(hf_http.default_client_factory)


@pytest.fixture(scope="module", autouse=True)
def report_count(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many bad inputs were tried, per channel, when the module ends."""
    yield
    everything = set().union(*TRIED.values())
    line = (f"bad inputs tried and refused as expected: {len(everything)} distinct "
            f"(core {len(TRIED['core'])}, CLI {len(TRIED['cli'])}, app {len(TRIED['app'])})")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + line)


@functools.lru_cache(maxsize=None)
def llama_index() -> PlanIndex:
    return PlanIndex(cached_inventory(LLAMA_ID))


# ---------------------------------------------------------------- core
@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_core_refuses_bad_config(case: str) -> None:
    data, match = BAD_CONFIGS[case]
    with pytest.raises(InputError, match=match):
        sources.from_upload(data, "config.json")
    TRIED["core"].add(case)


@pytest.mark.parametrize("case", HUB_CASES)
def test_core_refuses_bad_hub_model(case: str, fake_hub: FakeHub) -> None:
    repo_id, revision, match = HUB_CASES[case]
    with pytest.raises(InputError, match=match):
        sources.from_hub(repo_id, revision=revision)
    TRIED["core"].add(case)


def test_core_no_network_offline_mode_real_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """HF_HUB_OFFLINE=1 and an empty cache: the real hf_hub_download fails, with our message."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # read by lora_core.model.hub at call time
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)  # huggingface_hub reads it at import
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(InputError, match=NO_NETWORK):
        sources.from_hub("good-org/tiny-llama", download=hf_hub_download)
    with pytest.raises(InputError, match=NO_NETWORK):
        sources.from_hub("good-org/tiny-llama")  # the default, fail-fast downloader
    TRIED["core"].add("no-network-offline")


def test_core_no_network_unreachable_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Hub that does not answer: the probe refuses at once instead of ~20 s of retries."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "LORA_EXPLORER_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    calls: list[dict] = []
    monkeypatch.setattr(hub, "hf_hub_download", lambda **kw: calls.append(kw) or "")
    with pytest.raises(InputError, match=NO_NETWORK):
        sources.from_hub("good-org/tiny-llama")
    assert calls == []  # refused by the probe, before any retrying download
    TRIED["core"].add("no-network-unreachable")


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("case", PATH_CASES)
def test_core_refuses_bad_path(case: str, tmp_path: Path) -> None:
    box = sandbox(tmp_path)
    with pytest.raises(InputError, match=PATH_CASES[case].match):
        sources.from_path(PATH_CASES[case].path(box), allowed_root=box / "root")
    TRIED["core"].add(case)


def test_core_allowed_root_still_opens_inside(tmp_path: Path) -> None:
    box = sandbox(tmp_path)
    src = sources.from_path(box / "root" / "model" / ".." / "model", allowed_root=box / "root")
    assert src.config.model_type == "llama"


def test_core_unknown_preset() -> None:
    with pytest.raises(InputError, match=r"preset: no preset named 'acme/none'; choose one of"):
        sources.from_preset("acme/none")
    TRIED["core"].add("unknown-preset")


@pytest.mark.parametrize("case", PLAN_CASES)
def test_core_refuses_bad_plan(case: str) -> None:
    plan, match = PLAN_CASES[case]
    with pytest.raises(InputError, match=match):
        validate_plan(plan, llama_index())
    TRIED["core"].add(case)


@pytest.mark.parametrize("case", LAYER_TEXT_CASES)
def test_core_refuses_bad_layer_text(case: str) -> None:
    text, match = LAYER_TEXT_CASES[case]
    with pytest.raises(InputError, match=match):
        parse_layers(text, llama_index().num_layers)
    TRIED["core"].add(case)


def test_core_warns_rank_above_min_in_out() -> None:
    """Rank 2048 on k_proj (4096 -> 1024) is accepted with a warning, not refused."""
    warnings = validate_plan(Plan((Target("k", 2048),)), llama_index())
    assert any(w.startswith("rank above min(in, out) on 32 modules") for w in warnings)
    TRIED["core"].add("rank-above-min-in-out")


def test_core_dora_on_fused_experts_refused() -> None:
    index = PlanIndex(cached_inventory("Qwen/Qwen3-30B-A3B"))
    with pytest.raises(InputError, match=r"dora: PEFT does not support it on fused expert parameters"):
        validate_plan(Plan((Target("experts", 8),), dora=True), index)
    TRIED["core"].add("dora-on-experts")


# ---------------------------------------------------------------- never weights, remote code
def test_only_config_json_is_requested_from_the_hub(fake_hub: FakeHub) -> None:
    """Opening a Hub model end to end (source, meta skeleton, inventory) fetches config.json only."""
    from lora_core.model.inventory import build_inventory
    from lora_core.model.skeleton import build_skeleton

    src = sources.from_hub("good-org/tiny-llama")
    inv = build_inventory(build_skeleton(src.config))
    assert int(inv["base_params"].sum()) == 8_030_261_248
    assert ("GET", "/good-org/tiny-llama/resolve/main/config.json") in fake_hub.requests
    assert fake_hub.repo_files() == {"config.json"}


def test_cli_inspect_requests_only_config_json(fake_hub: FakeHub, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["inspect", "good-org/tiny-llama"]) == 0
    assert "good-org/tiny-llama" in capsys.readouterr().out
    assert fake_hub.repo_files() == {"config.json"}


def test_remote_code_is_off_by_default_and_warned() -> None:
    raw = json.loads(BAD_CONFIGS["needs-remote-code"][0])
    assert sources.needs_remote_code(raw)
    assert not sources.needs_remote_code({**LLAMA, "auto_map": {"AutoConfig": "x.Y"}})  # native: never runs code
    native = sources.from_upload(cfg(auto_map={"AutoConfig": "configuration_x.XConfig"}))
    assert native.trust_remote_code is False and getattr(native.config, "auto_map", None) is None
    warning = sources.remote_code_warning("acme/acme-lm")
    assert "'acme/acme-lm'" in warning and "runs them inside this server" in warning


# ---------------------------------------------------------------- CLI
def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, err


def assert_cli_refused(code: int, err: str, match: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert re.search(match, err), err


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_cli_refuses_bad_config_file(case: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data, match = BAD_CONFIGS[case]
    path = tmp_path / "config.json"
    path.write_bytes(data)
    assert_cli_refused(*run_cli(["inspect", str(path)], capsys), match)
    TRIED["cli"].add(case)


@pytest.mark.parametrize("case", HUB_CASES)
def test_cli_refuses_bad_hub_model(case: str, fake_hub: FakeHub, capsys: pytest.CaptureFixture) -> None:
    repo_id, revision, match = HUB_CASES[case]
    argv = ["inspect", repo_id] + (["--revision", revision] if revision else [])
    assert_cli_refused(*run_cli(argv, capsys), match)
    TRIED["cli"].add(case)


@pytest.mark.parametrize("case", PATH_CASES)
def test_cli_refuses_bad_path(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture) -> None:
    box = sandbox(tmp_path)
    monkeypatch.setenv(sources.ALLOWED_ROOT_ENV, str(box / "root"))
    assert_cli_refused(*run_cli(["inspect", str(PATH_CASES[case].path(box))], capsys), PATH_CASES[case].match)
    TRIED["cli"].add(case)


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_ENDPOINT")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def test_cli_process_no_network_offline(tmp_path: Path) -> None:
    """The real entry point and hf_hub_download with HF_HUB_OFFLINE=1: exit 2, message, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "lora_core", "inspect", "good-org/tiny-llama"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=cli_env(HF_HOME=str(tmp_path), HF_HUB_OFFLINE="1"))
    assert_cli_refused(proc.returncode, proc.stderr, NO_NETWORK)
    TRIED["cli"].add("no-network-offline")


def test_cli_no_network_unreachable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A Hub that does not answer: refused at once by the probe, no download retries."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "LORA_EXPLORER_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    assert_cli_refused(*run_cli(["inspect", "good-org/tiny-llama"], capsys), NO_NETWORK)
    TRIED["cli"].add("no-network-unreachable")


# ---------------------------------------------------------------- imported adapter_config.json
def adapter(**fields) -> bytes:
    return json.dumps({"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["c_attn"], **fields}).encode()


# id -> (adapter_config.json bytes, expected message), refused by lora_core.planning.audit (its parsing
# goes through lora_core.model.guards.load_json_object and check_adapter_config).
ADAPTER_CASES: dict[str, tuple[bytes, str]] = {
    "adapter-malformed": (b'{"peft_type": "LORA", "r": 8,', r"adapter_config: is not valid JSON"),
    "adapter-array": (b"[]", r"adapter_config: holds JSON but not an object"),
    "adapter-other-method": (adapter(peft_type="IA3"), r"adapter_config: peft_type: is 'IA3'; only LoRA adapters"),
    "adapter-no-method": (json.dumps({"r": 8}).encode(), r"adapter_config: peft_type: is missing; PEFT reads the method from it"),
    "adapter-rank-0": (adapter(r=0), r"adapter_config: r: must be a positive integer, got 0"),
    "adapter-rank-negative": (adapter(r=-4), r"adapter_config: r: must be a positive integer, got -4"),
    "adapter-rank-fractional": (adapter(r=7.5), r"adapter_config: r: must be a positive integer, got 7.5"),
    "adapter-alpha-0": (adapter(lora_alpha=0), r"adapter_config: lora_alpha: must be a positive number, got 0"),
    "adapter-rank-pattern-0": (adapter(rank_pattern={"c_attn": 0}), r"rank_pattern\['c_attn'\]: must be a positive"),
    "adapter-invalid-regex": (adapter(target_modules="(c_attn"), r"target_modules: '\(c_attn' is not a valid regular"),
    "adapter-redos-nested": (adapter(target_modules="(.*.*)*x"), r"nests unbounded repeats .* exponential time"),
    "adapter-redos-many": (adapter(target_modules=".*.*.*.*x"), r"has 4 unbounded repeats, above the limit of 3"),
    "adapter-pattern-too-long": (adapter(target_modules="a" * 501), r"pattern of 501 characters is above the limit of 500"),
    "adapter-name-too-long": (adapter(target_modules=["a" * 201]), r"entries must be module names of 1 to 200"),
    "adapter-deep-json": (deep_json(100_000), r"adapter_config: nests JSON too deeply"),
    "adapter-huge-integer": (b'{"peft_type": "LORA", "r": ' + b"9" * 5000 + b"}", r"is not valid JSON"),
}


@pytest.mark.parametrize("case", ADAPTER_CASES)
def test_core_audit_refuses_bad_adapter_config(case: str) -> None:
    from lora_core.planning import audit
    from tests.helpers import cached_skeleton

    data, match = ADAPTER_CASES[case]
    model = "openai-community/gpt2"
    with pytest.raises(InputError, match=match):
        audit.audit_adapter_config(data, cached_inventory(model), cached_skeleton(model))
    TRIED["core"].add(case)


@pytest.mark.parametrize("pattern", [r".*\.(q_proj|v_proj)", r"model\.layers\.\d+\.self_attn\.(q|k|v)_proj",
                                     r".*.*.*x", "c_attn", r"layers\.[0-3]\..*"])
def test_guards_accept_ordinary_patterns(pattern: str) -> None:
    guards.check_pattern(pattern, "target_modules")
    guards.check_adapter_config(json.loads(adapter(target_modules=pattern, rank_pattern={pattern: 4})))


# ---------------------------------------------------------------- CLI: plan
CLI_PLAN_CASES: dict[str, tuple[list[str], str]] = {
    "rank-0": (["--target", "q=0"], PLAN_CASES["rank-0"][1]),
    "rank-negative": (["--target", "q=-8"], PLAN_CASES["rank-negative"][1]),
    "rank-fractional": (["--target", "q=8.5"], r"--target: 'q=8.5': RANK must be an integer"),
    "rank-huge": (["--target", "q=1000000"], PLAN_CASES["rank-huge"][1]),
    "alpha-0": (["--target", "q=8:0"], r"alpha for 'q': must be positive, got 0.0"),
    "alpha-negative": (["--target", "q=8:-16"], PLAN_CASES["alpha-negative"][1]),
    "alpha-nan": (["--target", "q=8:nan"], PLAN_CASES["alpha-nan"][1]),
    "empty-plan": ([], r"--target: give at least one"),
    "layers-outside": (["--target", "q", "--layers", "0,32"], r"layers: '32' is outside this model's layers 0-31"),
    "key-too-long": (["--target", "q" * 201], PLAN_CASES["key-too-long"][1]),
    "key-regex": (["--target", r".*\.(q|v)_proj"], PLAN_CASES["key-regex"][1]),
    "key-matches-nothing": (["--target", "qq_proj"], PLAN_CASES["key-matches-nothing"][1]),
    **{case: (["--target", "q", "--layers", text], match) for case, (text, match) in LAYER_TEXT_CASES.items()},
}


@pytest.fixture
def cached_cli_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan subcommand opens Llama-3.1-8B once (opening is tested above; this tests the plan)."""
    from lora_core.cli import common as cli_common, plan as cli_plan

    opened = functools.lru_cache(maxsize=None)(lambda model: cli_common.open_from_args(
        __import__("argparse").Namespace(model=model, revision=None, trust_remote_code=False)))
    monkeypatch.setattr(cli_plan, "open_from_args", lambda args: opened(args.model))


@pytest.mark.parametrize("case", CLI_PLAN_CASES)
def test_cli_plan_refuses_bad_plan(case: str, cached_cli_model: None, capsys: pytest.CaptureFixture) -> None:
    extra, match = CLI_PLAN_CASES[case]
    assert_cli_refused(*run_cli(["plan", LLAMA_ID, *extra], capsys), match)
    TRIED["cli"].add(case)


def test_cli_plan_warns_rank_above_min(cached_cli_model: None, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["plan", LLAMA_ID, "--target", "k=2048"]) == 0
    assert "warning: rank above min(in, out) on 32 modules" in capsys.readouterr().out
    TRIED["cli"].add("rank-above-min-in-out")


# ---------------------------------------------------------------- app (AppTest)
def app_test(query: dict[str, str] | None = None):
    """A fresh session on app.py, first run done."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def errors(at) -> list[str]:
    return [e.value.replace("**", "") for e in at.error]


def assert_app_refused(at, before: tuple, match: str) -> None:
    """st.error shows the message, no exception, and the session's model and plan are unchanged."""
    assert not at.exception, at.exception
    assert any(re.search(match, e) for e in errors(at)), errors(at)
    assert (at.session_state["model_ref"], at.session_state["plan"]) == before


def snapshot(at) -> tuple:
    return at.session_state["model_ref"], at.session_state["plan"]


@pytest.mark.parametrize("case", HUB_CASES)
def test_app_model_page_refuses_bad_hub_model(case: str, fake_hub: FakeHub) -> None:
    repo_id, revision, match = HUB_CASES[case]
    at = app_test()
    before = snapshot(at)
    at.text_input(key="model_hub_id").input(repo_id)
    at.text_input(key="model_hub_revision").input(revision or "")
    at.button(key="model_hub_open").click().run()
    assert_app_refused(at, before, match)
    TRIED["app"].add(case)


def test_app_model_page_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    at = app_test()
    before = snapshot(at)
    at.text_input(key="model_hub_id").input("good-org/tiny-llama")
    at.button(key="model_hub_open").click().run()
    assert_app_refused(at, before, NO_NETWORK)
    TRIED["app"].add("no-network-unreachable")


def test_app_opens_hub_model_with_config_json_only(fake_hub: FakeHub) -> None:
    at = app_test()
    at.text_input(key="model_hub_id").input("good-org/tiny-llama")
    at.button(key="model_hub_open").click().run()
    assert not at.exception and not at.error
    assert at.session_state["model_ref"].label == "good-org/tiny-llama"
    assert fake_hub.repo_files() == {"config.json"}


def upload_and_open(at, uploader: str, filename: str, data: bytes, button: str, match: str) -> None:
    """Upload ``data`` through ``uploader``, click ``button``, and check the app refused it."""
    before = snapshot(at)
    at.file_uploader(key=uploader).upload(filename, data, "application/json")
    at.run()
    at.button(key=button).click().run()
    assert_app_refused(at, before, match)


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_app_model_page_refuses_bad_upload(case: str) -> None:
    data, match = BAD_CONFIGS[case]
    at = app_test()
    upload_and_open(at, "model_upload", "config.json", data, "model_upload_open", match)
    TRIED["app"].add(case)


@pytest.mark.parametrize("case", PATH_CASES)
def test_app_model_page_refuses_bad_path(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = sandbox(tmp_path)
    monkeypatch.setenv(sources.ALLOWED_ROOT_ENV, str(box / "root"))
    at = app_test()
    before = snapshot(at)
    at.text_input(key="model_local_path").input(str(PATH_CASES[case].path(box)))
    at.button(key="model_local_open").click().run()
    assert_app_refused(at, before, PATH_CASES[case].match)
    TRIED["app"].add(case)


def test_app_remote_code_warns_before_loading() -> None:
    at = app_test()
    before = snapshot(at)
    at.text_input(key="model_hub_id").input("acme/acme-lm")
    at.checkbox(key="model_trust_remote_code").check().run()
    assert any(w.value == sources.remote_code_warning("acme/acme-lm") for w in at.warning)
    assert snapshot(at) == before  # ticking the box loads nothing
    TRIED["app"].add("remote-code-warning")


# id -> (widget actions on the Targets page, expected message)
TARGETS_PAGE_CASES: dict[str, tuple[list[tuple[str, str, object]], str]] = {
    "rank-0": ([("number_input", "tg_rank_q", 0)], PLAN_CASES["rank-0"][1]),
    "rank-negative": ([("number_input", "tg_rank_q", -8)], PLAN_CASES["rank-negative"][1]),
    "rank-huge": ([("number_input", "tg_rank_v", 10**6)], r"rank for 'v': 1000000 is above 65536"),
    "alpha-0": ([("number_input", "tg_alpha_q", 0.0)], r"alpha for 'q': must be positive, got 0.0"),
    "alpha-negative": ([("number_input", "tg_alpha_v", -16.0)], r"alpha for 'v': must be positive, got -16.0"),
    "empty-plan": ([("toggle", "tg_on_q", False), ("toggle", "tg_on_v", False)], PLAN_CASES["empty-plan"][1]),
    **{case: ([("text_input", "tg_layers_text", text)], match) for case, (text, match) in LAYER_TEXT_CASES.items()},
    "layers-outside": ([("text_input", "tg_layers_text", "0,32")], r"layers: '32' is outside this model's layers 0-31"),
}


@pytest.mark.parametrize("case", TARGETS_PAGE_CASES)
def test_app_targets_page_refuses_bad_plan(case: str) -> None:
    actions, match = TARGETS_PAGE_CASES[case]
    at = app_test()
    at.switch_page("pages/targets.py").run()
    for kind, key, value in actions[:-1]:  # steps that are valid on their own
        getattr(at, kind)(key=key).set_value(value).run()
    before = snapshot(at)
    kind, key, value = actions[-1]
    getattr(at, kind)(key=key).set_value(value).run()
    assert_app_refused(at, before, match)
    TRIED["app"].add(case)


def test_app_targets_page_warns_rank_above_min() -> None:
    at = app_test()
    at.switch_page("pages/targets.py").run()
    at.toggle(key="tg_on_k").set_value(True).run()
    at.number_input(key="tg_rank_k").set_value(2048).run()
    assert not at.exception and not at.error
    assert any(w.value.startswith("rank above min(in, out) on 32 modules") for w in at.warning)
    TRIED["app"].add("rank-above-min-in-out")


@pytest.mark.parametrize("case,query,match", [
    ("link-bad-plan", {"t": "q=0"}, r"The link's plan was not applied .*rank for 'q'"),
    ("link-layers-outside", {"t": "q=8", "layers": "0-999999999"}, r"The link's plan was not applied .*outside"),
    ("link-bad-target-syntax", {"t": "q=eight"}, r"The link's plan was not applied"),
    ("link-unknown-model", {"model": "nobody/no-such-model"}, r"The link's model could not be opened"),
    ("link-path-outside-root", {"model": "/etc/hostname", "src": "local"}, r"The link's model could not be opened"),
])
def test_app_hostile_link_falls_back_to_defaults(case: str, query: dict[str, str], match: str,
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(sources.ALLOWED_ROOT_ENV, str(tmp_path))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    at = app_test(query)
    assert not at.exception
    assert any(re.search(match, w.value) for w in at.warning), [w.value for w in at.warning]
    assert at.session_state["model_ref"].label == presets.DEFAULT_PRESET
    TRIED["app"].add(case)


def test_app_link_cannot_enable_remote_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    at = app_test({"model": "acme/acme-lm", "src": "hub", "trust_remote_code": "1", "trust": "1"})
    assert not at.exception
    assert at.session_state["model_ref"].trust_remote_code is False


@pytest.mark.parametrize("case", ADAPTER_CASES)
def test_app_export_page_refuses_bad_adapter_config(case: str) -> None:
    data, match = ADAPTER_CASES[case]
    at = app_test()
    at.switch_page("pages/export.py").run()
    upload_and_open(at, "ex_import", "adapter_config.json", data, "ex_import_run", match)
    TRIED["app"].add(case)


# ---------------------------------------------------------------- remote code, when asked for
ACME_CODE = b'''from transformers import PretrainedConfig


class AcmeConfig(PretrainedConfig):
    model_type = "acme_lm"

    def __init__(self, hidden_size=64, **kwargs):
        self.hidden_size = hidden_size
        super().__init__(**kwargs)
'''
ACME_MAP = {"AutoConfig": "configuration_acme.AcmeConfig"}


@pytest.fixture
def code_hub(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    """The fake Hub also serves ``configuration_acme.py``; transformers' module cache is a tmp dir."""
    import transformers.dynamic_module_utils as dmu

    monkeypatch.setitem(HUB_FILES, "acme/tiny-acme", json.dumps(
        {"model_type": "acme_lm", "hidden_size": 64, "auto_map": ACME_MAP}).encode())
    monkeypatch.setitem(HUB_FILES, "acme/huge-acme", json.dumps(
        {"model_type": "acme_lm", "num_hidden_layers": 10**6, "auto_map": ACME_MAP}).encode())
    monkeypatch.setattr(dmu, "HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    plain = FakeHub.__call__

    def serve(self: FakeHub, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/resolve/main/configuration_acme.py"):
            self.requests.append((request.method, request.url.path))
            return httpx2.Response(200, headers={"X-Repo-Commit": "0" * 40, "ETag": '"c0de"',
                                                 "Content-Length": str(len(ACME_CODE))},
                                   content=ACME_CODE if request.method == "GET" else b"", request=request)
        return plain(self, request)

    monkeypatch.setattr(FakeHub, "__call__", serve)
    before = set(sys.modules)
    yield fake_hub
    for name in set(sys.modules) - before:
        if name.startswith("transformers_modules"):
            del sys.modules[name]


def test_remote_code_when_asked_fetches_config_and_code_only(code_hub: FakeHub) -> None:
    with pytest.raises(InputError, match=r"trust_remote_code: .*off by default"):
        sources.from_hub("acme/tiny-acme")
    assert code_hub.repo_files() == {"config.json"}  # refused before any code was fetched
    src = sources.from_hub("acme/tiny-acme", trust_remote_code=True)
    assert type(src.config).__name__ == "AcmeConfig" and src.trust_remote_code
    assert code_hub.repo_files() == {"config.json", "configuration_acme.py"}  # code, never weights


def test_remote_code_still_refuses_absurd_sizes_before_fetching_code(code_hub: FakeHub) -> None:
    with pytest.raises(InputError, match=r"num_hidden_layers: 1000000 is above the limit of 1024"):
        sources.from_hub("acme/huge-acme", trust_remote_code=True)
    assert code_hub.repo_files() == {"config.json"}
    TRIED["core"].add("remote-code-absurd-size")
