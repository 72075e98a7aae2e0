"""Mail that comes in: one pipeline for the IMAP collector and `ditbot mail receive`.

`parse` reads a raw RFC 5322 message (every charset French mail uses), `strip` keeps the new
text of a reply, `kinds` tells auto-replies and delivery reports apart, `match` finds the DIT,
`store` keeps attachments on disk, and `pipeline.receive` ties them to the domain
(ditbot.domain.inbound), once per message whatever happens.
"""
