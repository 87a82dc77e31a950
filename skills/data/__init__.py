"""skills/data: demonstrations in the LeRobotDataset v3 layout (record, load, check, repair, report)."""
