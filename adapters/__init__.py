"""Chat platforms: each module translates between one platform and the neutral values of `bot`."""
