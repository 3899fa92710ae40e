"""Qt plumbing shared by the Qt front-ends (desktop, kiosk): the controller that decides what
to load and draw, the background loader and the translations."""
