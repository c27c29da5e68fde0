"""E-mail to users: ticket confirmations, and agent replies the chat did not show in time.

Rows of ``outgoing_emails`` are written in the unit of work that causes them
(:mod:`.scheduling`) and delivered by :class:`.dispatcher.EmailDispatcher`
through an SMTP server or, with none configured, into a folder (:mod:`.sending`).
"""
