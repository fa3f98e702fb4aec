// Package feed serves the live notice feed (GET /v1/feed, SPEC §4.2) to partner agencies
// and focal points over websocket: every new log entry the subscriber's authority may read,
// in log order, with its log index, after the subscriber's filters; resumable with since=N
// with no gap and no duplicate.
//
// Dependency direction: feed imports nothing of penhub's. The node implements [Source] over
// the replicated store and its keyring, authenticates requests, and calls [Hub.ServeWS].
//
// # Using it
//
//  1. Implement [Source]: Changed is the store's applied-size signal, View decrypts one
//     entry for one authority (nil when it may not read it).
//  2. hub := feed.NewHub(src, feed.Config{Metrics: feed.NewMetrics(reg)}, logger)
//  3. go hub.Run(ctx): the one goroutine that fans new entries out.
//  4. In the GET /v1/feed handler: authenticate, parse since and [ParseFilter] (answer 400 on
//     [ErrBadFilter]), then hub.ServeWS(w, r, feed.Subscriber{...}, since). ServeWS returns
//     when the connection is closed.
//
// # Wire protocol
//
// Server to client, JSON text frames: a [Message] per entry, and
// {"kind":"heartbeat","index":N}. Every wanted entry with index ≤ N has been sent, so a client
// resumes with since = max(last entry index, last heartbeat index) + 1. The first heartbeat is
// sent at once when the connection switches from replay to live, later ones after Heartbeat
// without any other frame. Close codes: 1008 slow consumer, 1011 the entry could not be read,
// 1001 server shutting down; each reason ends in "reconnect with since=N". docs/feeds.md has
// the full protocol, the cut-over invariant and the thread map.
//
// # Goroutines
//
// [Hub.Run] owns the subscriber registry; it never blocks on a connection. Each connection
// has one writer (the goroutine that called ServeWS), a bounded queue filled by the hub, and
// one reader goroutine that only handles control frames.
package feed
