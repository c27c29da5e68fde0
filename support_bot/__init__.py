"""The maintainers' loop: export what the assistant got wrong, label it, import it,
retrain, evaluate, promote, and report on how conversations went.

Entry point: the ``support-bot`` console script (:mod:`support_bot.cli`). Each command's
code is a subpackage with a ``command`` module that the CLI calls:

* ``export``: pick the messages to relabel (``selection``) and write the label file;
* ``label_import`` (``support-bot import``): check a labelled file against the domain,
  the training data and the evaluation split (``training_index``), and append its examples
  to the topic files of data/nlu (``topic_files``);
* ``evaluation`` (``support-bot evaluate``): run ``rasa test nlu`` (``rasa_test_nlu``),
  read and compare the numbers (``results``), write summary.md (``summary``);
* ``retrain``: validate, train, evaluate through ``evaluation``, and promote (``promotion``);
* ``report``: the numbers (``metrics``), report.md (``markdown``) and the PNG ``charts``;
* ``outbox``: list and retry the action server's dead letters.

Shared by several commands: ``stores`` (reading Rasa's tracker store and the handoff
service's tickets) and ``common`` (project paths, errors, progress output, the time window,
text normalisation, NLU and label files, running ``rasa``). ``common`` imports no other
subpackage, ``stores`` only ``common``, and no command imports another except ``retrain``,
which evaluates through ``evaluation``.
"""
