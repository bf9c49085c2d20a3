from hypothesis import settings

import tests.fuzz.support  # noqa: F401 - registers the profile

settings.load_profile("kanyan-fuzz")
