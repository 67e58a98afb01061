"""The real-adapter table: each published adapter_config.json audited by the product and counted
by get_peft_model on the same meta model (as loaded for training). Prints one row per adapter and
the totals; ``--heldout`` runs the held-out set instead.

    PYTHONPATH=. .venv/bin/python bench/adapter_table.py [--heldout]
"""

from __future__ import annotations

import sys

from tests.adapter_table.product import product_figure
from tests.adapter_table.reference import load_table, peft_figure


def main() -> None:
    name = "heldout" if "--heldout" in sys.argv else "dev"
    agree = refused = differ = 0
    print(f"{'adapter':42} {'task':18} {'base':36} {'product':>12} {'PEFT':>12}  verdict")
    for e in load_table(name):
        ours, ref = product_figure(e["adapter"], e["base"]), peft_figure(e["adapter"], e["base"])
        if ref.error is not None and ours.error is not None:
            verdict, refused = "both refuse", refused + 1
        elif ref.error is None and ours.trainable == ref.trainable:
            verdict, agree = "agree", agree + 1
        else:
            verdict, differ = f"DIFFER ({ours.error or ref.error or ''})"[:120], differ + 1
        task = str(e["adapter"].get("task_type"))
        print(f"{e['id']:42} {task:18} {e['base']:36} {str(ours.trainable):>12} {str(ref.trainable):>12}  {verdict}")
        print(f"{'':42} source: github.com/{e['repo']}/blob/{e['commit'][:12]}/{e['path']}")
    print(f"\n{name}: {agree} agree, {refused} refused by both, {differ} differ (of {agree + refused + differ})")


if __name__ == "__main__":
    main()
