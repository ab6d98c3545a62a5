"""Notifications (email, signed webhooks, reminders): not built yet; see its issue. Nothing here runs."""
