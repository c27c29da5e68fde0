"""``support-bot export``: pick the messages the assistant did not handle well and write
them into a label file."""
