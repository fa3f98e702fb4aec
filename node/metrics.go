package node

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/penhub/penhub/consensus"
)

// metrics are the node's Prometheus series. Labels never carry authority ids
// or notice data (SPEC §4): only routes (patterns), status codes and states.
type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	noticesPosted prometheus.Counter
	rejected      *prometheus.CounterVec
	reg           prometheus.Registerer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "penhub_http_requests_total", Help: "HTTP API requests by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "penhub_http_request_duration_seconds", Help: "HTTP API request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		noticesPosted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "penhub_notices_posted_total", Help: "Notices posted through this node and committed.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "penhub_rejected_entries_total", Help: "Entries proposed through this node that the log rejected, by rejection code.",
		}, []string{"code"}),
		reg: reg,
	}
	reg.MustRegister(m.requests, m.latency, m.noticesPosted, m.rejected)
	return m
}

// watch exports the replicated log's state as gauges read at scrape time.
func (m *metrics) watch(c *consensus.Node) {
	gauge := func(name, help string, f func(consensus.Metrics) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(c.Metrics()) })
	}
	counter := func(name, help string, f func(consensus.Metrics) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(c.Metrics()) })
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	m.reg.MustRegister(ledgerCollector{c},
		gauge("penhub_raft_is_leader", "1 when this node is the Raft leader.", func(x consensus.Metrics) float64 { return b(x.IsLeader) }),
		gauge("penhub_raft_term", "Current Raft term.", func(x consensus.Metrics) float64 { return float64(x.Term) }),
		gauge("penhub_raft_commit_index", "Raft commit index known to this node.", func(x consensus.Metrics) float64 { return float64(x.CommitIndex) }),
		gauge("penhub_raft_applied_index", "Last Raft index applied by this node's state machine.", func(x consensus.Metrics) float64 { return float64(x.AppliedRaftIndex) }),
		gauge("penhub_raft_last_contact_seconds", "Seconds since the leader was last heard from (0 on the leader, -1 never).", func(x consensus.Metrics) float64 { return x.LastContactAge }),
		gauge("penhub_raft_voters", "Voters in the Raft configuration.", func(x consensus.Metrics) float64 { return float64(x.Voters) }),
		gauge("penhub_raft_servers", "Servers (voters and non-voters) in the Raft configuration.", func(x consensus.Metrics) float64 { return float64(x.Servers) }),
		gauge("penhub_log_size", "Entries in the applied notice log (last log index + 1).", func(x consensus.Metrics) float64 { return float64(x.LedgerSize) }),
		counter("penhub_fsm_batches_total", "State machine batches applied (one bbolt transaction each).", func(x consensus.Metrics) float64 { return float64(x.FSMBatches) }),
		counter("penhub_fsm_logs_total", "Raft log entries passed to the state machine.", func(x consensus.Metrics) float64 { return float64(x.FSMLogs) }),
		counter("penhub_fsm_apply_seconds_total", "Time spent applying batches.", func(x consensus.Metrics) float64 { return x.FSMApplySeconds }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "penhub_alarms", Help: "Open alarms (checkpoint mismatches, secretariat key resets)."},
			func() float64 { return float64(len(c.Ledger().Alarms())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "penhub_ready", Help: "1 when the node has a leader and is caught up."},
			func() float64 { return b(c.Ready()) }),
	)
}

// instrument counts and times requests of one route.
func (m *metrics) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack passes the connection to the websocket upgrade (gorilla asserts
// http.Hijacker directly); a hijacked request counts as 101.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("hijacking connection: %T is not a http.Hijacker", w.ResponseWriter)
	}
	w.code = http.StatusSwitchingProtocols
	return h.Hijack()
}

// ledgerCollector exports the state machine's apply counters (every node
// counts every entry it applies, whoever proposed it).
type ledgerCollector struct{ c *consensus.Node }

var (
	ledgerAcceptedDesc  = prometheus.NewDesc("penhub_ledger_accepted_total", "Entries this node's state machine accepted.", nil, nil)
	ledgerDuplicateDesc = prometheus.NewDesc("penhub_ledger_duplicates_total", "Entries answered as duplicates of an applied entry id.", nil, nil)
	ledgerRejectedDesc  = prometheus.NewDesc("penhub_ledger_rejected_total", "Entries this node's state machine rejected, by rejection code.", []string{"code"}, nil)
)

func (lc ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- ledgerAcceptedDesc
	ch <- ledgerDuplicateDesc
	ch <- ledgerRejectedDesc
}

func (lc ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	st := lc.c.Ledger().Stats()
	ch <- prometheus.MustNewConstMetric(ledgerAcceptedDesc, prometheus.CounterValue, float64(st.Accepted))
	ch <- prometheus.MustNewConstMetric(ledgerDuplicateDesc, prometheus.CounterValue, float64(st.Duplicates))
	for code, v := range st.Rejected {
		ch <- prometheus.MustNewConstMetric(ledgerRejectedDesc, prometheus.CounterValue, float64(v), code)
	}
}
