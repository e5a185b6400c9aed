"""The roof: the ``chainrule`` command (cli), its config files, run folders and comparisons. Library
floors take objects; choosing a dataset by name, building a model from options and writing run
folders happen here."""
