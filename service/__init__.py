"""quizrelay: multi-agent quiz rounds on the OpenAI Agents SDK and on plain Chat Completions.

Importing the package starts nothing; :func:`quizrelay.app.create_app` assembles the service.
"""

__version__ = "0.1.0"
