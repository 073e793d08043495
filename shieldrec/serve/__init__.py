"""`shieldrec serve`: the shield as a local HTTP service for the user's own programs.

The one package that imports the web framework (FastAPI on uvicorn). Loopback only, a
bearer token from the keyring, Host and Origin checks, capped bodies, every call logged.
"""

from shieldrec.serve.run import bind_loopback, serve
from shieldrec.serve.service import Service
from shieldrec.serve.token import service_token

__all__ = ["Service", "bind_loopback", "serve", "service_token"]
