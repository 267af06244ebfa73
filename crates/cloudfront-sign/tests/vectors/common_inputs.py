# Inputs shared by both generators (js_vectors.js repeats them; keep in step).
KEY_ID = "K2JCJMDEHXQW5F"
EXPIRES = 1893456000        # 2030-01-01T00:00:00Z
NOT_BEFORE = 1767225600     # 2026-01-01T00:00:00Z
IP = "203.0.113.0/24"
WILDCARD = "https://d111111abcdef8.cloudfront.net/private/2026/11/28/m1/*"
URLS = [
    "https://d111111abcdef8.cloudfront.net/private/2026/11/28/m1/display.jpg",
    "https://d111111abcdef8.cloudfront.net/private/photo.jpg?w=320&fmt=webp",
    "https://media.shutter.example/private/caf%C3%A9/ph%20oto.jpg",
    "https://media.shutter.example/private/café/naïve ☃.jpg",
    "http://127.0.0.1:8085/private/a/b/c.jpg",
]
