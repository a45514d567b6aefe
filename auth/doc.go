// Package auth verifies the JSON Web Tokens (RFC 7519) that admit clients to
// Switchboard's endpoints, and reads the room claims they carry.
//
// A [Verifier] accepts JWS compact serializations (RFC 7515 §7.1) signed with
//
//   - HS256 (HMAC SHA-256, RFC 7518 §3.2) under a shared secret of at least
//     32 bytes, and/or
//   - RS256 (RSASSA-PKCS1-v1_5 SHA-256, RFC 7518 §3.3) or ES256 (ECDSA P-256
//     SHA-256, RFC 7518 §3.4) under public keys from a JWK Set file
//     (RFC 7517 §5), chosen by the token's "kid" header; [Verifier.Reload]
//     re-reads the file (the switchboard binary calls it on SIGHUP).
//
// Only the algorithms a key source is configured for are accepted: a token
// whose "alg" is "none", or HS256 when only a key set is configured (the
// classic confusion attack that signs with the public key as an HMAC
// secret), or RS256/ES256 when only a secret is configured, is refused
// before any key is looked up. Every key is bound to its algorithm family,
// so an HMAC secret never verifies an RSA or EC token and the reverse.
//
// Claims (RFC 7519 §4.1): "exp" is required and "nbf" honoured, both with a
// small leeway (Config.Leeway); "iss" and "aud" are checked when
// Config.Issuer / Config.Audience are set. Switchboard's own claims:
//
//	"sub"     the identity (RFC 7519 §4.1.2); a PeerJS peer id must equal it
//	"name"    optional display name (signaling shows it to the room)
//	"rooms"   rooms the token may join: ["lobby", "team-*"]; an entry ending
//	          in "*" matches every room that starts with the rest ("*" alone
//	          matches all). Absent: any room. []: no room.
//	"publish" rooms the token may publish to, same form. Absent: the same
//	          as "rooms". []: publish nowhere.
//
// The package starts no goroutines and keeps no package-level state.
package auth
