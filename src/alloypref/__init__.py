"""AlloyPref: steering language models toward BCC/B2 superalloys with CALPHAD feedback."""

__version__ = "0.1.0"
