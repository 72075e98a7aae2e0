"""The kernel every part imports: settings, the shared context, the message catalog."""
