"""Exceptions shared by every layer."""


class UserError(ValueError):
    """Bad input from a user: the message is one line naming the file, row, column or parameter.

    The CLI prints it without a traceback and exits with status 2.
    """


class DivergenceError(ArithmeticError):
    """Training produced a non-finite or exploding loss."""
