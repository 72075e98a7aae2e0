"""The Slack side of ditbot: a bolt app built by `bot.app.create_app`."""
