"""The module tree and the one-layer diagram, as data, from the inventory (no second walk).

- :mod:`.hierarchy`: the model's own nesting, identical consecutive layers folded into one
  node, with base and LoRA parameters per node under a plan.
- :mod:`.keys`: which plan key a click on a module (or a diagram block) toggles.
- :mod:`.diagram`: one layer as blocks and edges, in the order data flows through it.
- :mod:`.figures`: Plotly figures of both (an icicle and a block diagram).
"""
