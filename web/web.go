// Package web is Switchboard's demo: a page where people pick a name and a
// room, chat over Socket.IO, and start a video call of up to four people
// (a full mesh signaled through /signal, with the ICE servers it hands
// out). Plain HTML, CSS and JavaScript, embedded in the binary; no build
// step. The Socket.IO client is the npm socket.io-client browser bundle,
// vendored in vendor/.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static vendor/socket.io.min.js
var files embed.FS

// Handler serves the demo: "/" is the page, "/vendor/" the vendored
// client. Mount it at "/".
func Handler() http.Handler {
	static, _ := fs.Sub(files, "static") // the directory is embedded
	pages := http.FileServerFS(static)
	vendor := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The page loads only its own files and talks only to its own origin.
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; media-src 'self' blob: mediastream:; style-src 'self'; script-src 'self'")
		if strings.HasPrefix(r.URL.Path, "/vendor/") {
			h.Set("Cache-Control", "public, max-age=86400")
			vendor.ServeHTTP(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
		pages.ServeHTTP(w, r)
	})
}
