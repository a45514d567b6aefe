// Package redisadapter joins Switchboard nodes, and Node.js socket.io nodes
// using @socket.io/redis-adapter 8.x, into one Socket.IO cluster through a
// Redis server.
//
// A process creates one Cluster around a go-redis client and hands its
// Adapter method to socketio.Config:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	cl, err := redisadapter.New(rdb, redisadapter.Options{})
//	srv, err := socketio.New(socketio.Config{Adapter: cl.Adapter})
//	rooms, err := cl.Rooms(redisadapter.RoomsOptions{}) // signaling across nodes
//	sig, err := signaling.New(signaling.Config{Rooms: rooms})
//	pj, err := cl.PeerJS(redisadapter.PeerJSOptions{}) // PeerJS ids across nodes
//	pjs, err := peerjs.New(peerjs.Config{Cluster: pj})
//	...
//	http.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
//		if !cl.Ready() { w.WriteHeader(http.StatusServiceUnavailable) }
//	})
//	...
//	srv.Shutdown(ctx) // closes the namespaces' adapters
//	sig.Shutdown(ctx)
//	pjs.Shutdown(ctx)
//	cl.Shutdown(ctx)  // flushes queued publications, stops the goroutines
//	rdb.Close()
//
// # What crosses Redis
//
// The wire format is the Node.js adapter's (see package wire): broadcasts,
// broadcasts with acknowledgements, FetchSockets, CountSockets, AllRooms, SocketsJoin,
// SocketsLeave, DisconnectSockets, ServerSideEmit (with or without acks) and
// ServerCount (PUBSUB NUMSUB). Room membership is never stored in Redis: each
// node keeps its own sockets' rooms in the embedded socketio.MemoryAdapter and
// answers requests about them, so a node that dies takes its sockets with it
// from every cluster-wide view as soon as Redis notices its connection closed.
//
// # Goroutines and connections
//
// New starts nothing. The first namespace adapter starts two goroutines owned
// by the Cluster: a subscriber on one dedicated Redis connection (shared by
// every namespace, as the Node.js adapter shares its subClient) and a
// publisher that drains a bounded queue in pipelines, so an Emit never waits
// for Redis. Requests from other nodes that run application code (server-side
// emit handlers, disconnect handlers) run on goroutines bounded by
// Options.MaxConcurrentRequests. Cluster.Rooms adds a heartbeat and an
// operation runner, Cluster.PeerJS an operation runner and a refresher.
// Shutdown stops them all.
//
// # When Redis is down
//
// Each node keeps serving its own clients: broadcasts reach local sockets,
// cluster-wide queries answer with the local part. Ready reports false, one
// log line records each change of state, the subscriber reconnects with
// exponential backoff and resubscribes, and cross-node delivery resumes.
// Publications made while Redis is unreachable are dropped (Redis pub/sub
// keeps nothing for absent subscribers).
//
// # Signaling
//
// Cluster.Rooms is a signaling.Rooms kept in Redis, so that WebRTC peers on
// different nodes find each other; see Rooms. Cluster.PeerJS is a
// peerjs.Cluster: peer ids unique across nodes and frames routed to the node
// that holds their destination; see PeerJS. Neither makes the WebSocket
// event loop wait for Redis: their operations queue for a runner goroutine
// each and complete through callbacks. docs/scaleout.md states what is
// shared, what is recovered and the measured failure timings.
package redisadapter
