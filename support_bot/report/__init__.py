"""``support-bot report``: the conversation report of a window, as Markdown and charts."""
