"""The dashboards: Voila apps with ipywidgets and bqplot charts for instructors, staff and
admins, served as a Hub service. They read the campus and grader APIs with the viewer's own
Hub OAuth token, so the campus's permission table decides what each viewer sees."""
