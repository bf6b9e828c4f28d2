"""``python -m svend.safety "how do I kill a hung process"`` — the gate's decision for one text."""

from svend.safety.gate import main

raise SystemExit(main())
