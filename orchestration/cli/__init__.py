"""The `hvla` command line. `app` is the entry point; each command group is a module of its own:

    main.py        run, plan, debug, demo, serve, estop, ...
    data.py        hvla data ...      (record, rollouts, teleop, report, repair)
    train.py       hvla train ...     (policy, dagger, e2e, anomaly, detector, planner-head)
    perception.py  hvla perception ...
    planner.py     hvla planner ...
"""

from hvla.orchestration.cli.main import app

__all__ = ["app"]
