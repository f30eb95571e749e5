"""A plugin that cannot even be imported."""

raise ImportError("gan_testplugin.broken needs a package that is not installed")
