"""asyncssh, imported without its DSA deprecation warnings.

asyncssh names cryptography's DSA key classes when it is imported; cryptography 4x deprecates DSA
and warns five times (``CryptographyDeprecationWarning``), at every start of ``pkilab sim up``
and in every test run's warnings. The simulated lab never uses DSA. The warnings are silenced
here, for asyncssh's own modules only, around the one import every module of the lab goes through.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh(\.|$)")
    import asyncssh

__all__ = ["asyncssh"]
