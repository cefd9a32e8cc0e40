"""Where the domain data lives: a unit of work per request or job over SQL or MongoDB.

The backend is chosen once, in the container (`build_storage`), from the settings; services
receive a `UnitOfWork` and see only domain values and repository protocols.
"""
