// OpenSSL's PBKDF2 and HMAC for SCRAM verifiers; libcrypto is loaded by libpq anyway.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
