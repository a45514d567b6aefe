package engineio

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// corsMethods is what a preflight answer allows, the default of the npm
// "cors" middleware the reference uses.
const corsMethods = "GET,HEAD,PUT,PATCH,POST,DELETE"

// allowedOrigin returns the Access-Control-Allow-Origin value for a request
// from origin, or "" when CORS is off or origin is not allowed.
func (c *CORS) allowedOrigin(origin string) string {
	if len(c.Origins) == 0 {
		return ""
	}
	if slices.Contains(c.Origins, "*") {
		if c.Credentials && origin != "" {
			return origin // browsers refuse "*" with credentials
		}
		return "*"
	}
	if origin != "" && slices.Contains(c.Origins, origin) {
		return origin
	}
	return ""
}

// cors writes the CORS response headers and answers a preflight request; it
// reports whether the request has been answered.
func (srv *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	c := &srv.cfg.CORS
	if len(c.Origins) == 0 {
		return false
	}
	h := w.Header()
	origin := r.Header.Get("Origin")
	allow := c.allowedOrigin(origin)
	if allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
	}
	if allow != "*" {
		h.Add("Vary", "Origin")
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", corsMethods)
	if len(c.Headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.Headers, ","))
	} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// checkOrigin is the WebSocket origin policy of a Server that makes its own
// WebSocket server: origins the CORS policy allows, or same-origin requests
// (no Origin header, or its host equal to the request's).
func (srv *Server) checkOrigin(r *http.Request) bool {
	if srv.cfg.CheckOrigin != nil {
		return srv.cfg.CheckOrigin(r)
	}
	origin := r.Header.Get("Origin")
	if origin == "" || srv.cfg.CORS.allowedOrigin(origin) != "" {
		return true
	}
	_, host, ok := strings.Cut(origin, "://")
	return ok && strings.EqualFold(host, r.Host)
}
