// webhookbench: a burst of room events through a running liveroom, delivered as webhooks to a
// receiver in this process, against a reference: the same receiver fed the same number of POSTs
// directly, by as many senders as liveroom's dispatcher has threads, on kept-alive connections
// (as liveroom sends them). Prints throughput, lag (receipt minus the event's own timestamp),
// order per room, duplicates and signature checks. Not liveroom's code: net/http and crypto only.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type received struct {
	id     string
	room   string
	seq    int64
	lagMs  float64
	at     time.Time
	signed bool
}

type receiver struct {
	key []byte
	mu  sync.Mutex
	got []received
	ref atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	now := time.Now()
	if req.URL.Path == "/ref" {
		r.ref.Add(1)
		w.WriteHeader(204)
		return
	}
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, r.key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	signed := false
	for _, s := range strings.Fields(req.Header.Get("webhook-signature")) {
		if hmac.Equal([]byte(s), []byte(want)) {
			signed = true
		}
	}
	var event struct {
		Timestamp string `json:"timestamp"`
		Data      struct {
			RoomID   string `json:"room_id"`
			Sequence int64  `json:"sequence"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &event)
	lag := 0.0
	if t, err := time.Parse(time.RFC3339Nano, event.Timestamp); err == nil {
		lag = float64(now.Sub(t).Microseconds()) / 1000
	}
	r.mu.Lock()
	r.got = append(r.got, received{id, event.Data.RoomID, event.Data.Sequence, lag, now, signed})
	r.mu.Unlock()
	w.WriteHeader(204)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[i]
}

func post(client *http.Client, url string, body []byte, token string) (*http.Response, error) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return client.Do(req)
}

// Runs n jobs on `workers` goroutines.
func parallel(n, workers int, job func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				job(i)
			}
		}()
	}
	wg.Wait()
}

func main() {
	liveroom := flag.String("liveroom", "", "base URL of the liveroom under test")
	listen := flag.String("listen", "127.0.0.1:0", "receiver address (liveroom's --webhook-url points here)")
	secret := flag.String("secret", "", "the whsec_ secret liveroom signs with")
	rooms := flag.Int("rooms", 100, "rooms in the burst")
	perRoom := flag.Int("events-per-room", 100, "events per room (1 create + updates)")
	workers := flag.Int("workers", 8, "API callers making the burst")
	senders := flag.Int("senders", 4, "reference senders (liveroom's dispatcher threads)")
	timeout := flag.Duration("timeout", 10*time.Minute, "how long to wait for every delivery")
	flag.Parse()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(*secret, "whsec_"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad -secret:", err)
		os.Exit(2)
	}
	rec := &receiver{key: key}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, rec)
	total := *rooms * *perRoom
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *senders}, Timeout: 30 * time.Second}
	api := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers}, Timeout: 30 * time.Second}

	// Reference: the same number of POSTs of a webhook-sized body, straight to the receiver.
	sample := bytes.Repeat([]byte("x"), 900)
	refStart := time.Now()
	parallel(total, *senders, func(int) {
		if resp, err := post(direct, "http://"+ln.Addr().String()+"/ref", sample, ""); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	refSecs := time.Since(refStart).Seconds()
	refRate := float64(rec.ref.Load()) / refSecs

	// The burst: rooms created, then updated, as fast as `workers` callers can.
	type room struct{ id, token string }
	made := make([]room, *rooms)
	start := time.Now()
	var failed atomic.Int64
	parallel(*rooms, *workers, func(i int) {
		body, _ := json.Marshal(map[string]string{"title": fmt.Sprintf("Lớp %d", i), "host": "bench"})
		resp, err := post(api, *liveroom+"/api/livestream/create", body, "")
		if err != nil {
			failed.Add(1)
			return
		}
		var created struct {
			RoomID    string `json:"room_id"`
			HostToken string `json:"host_token"`
		}
		json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			failed.Add(1)
		}
		made[i] = room{created.RoomID, created.HostToken}
	})
	parallel(*rooms*(*perRoom-1), *workers, func(i int) {
		r := made[i%*rooms]
		body, _ := json.Marshal(map[string]string{"room_id": r.id, "title": fmt.Sprintf("Buổi %d", i)})
		resp, err := post(api, *liveroom+"/api/livestream/update", body, r.token)
		if err != nil {
			failed.Add(1)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			failed.Add(1)
		}
	})
	generated := time.Since(start).Seconds()
	deadline := time.Now().Add(*timeout)
	for rec.count() < total && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // anything more (duplicates) arrives
	rec.mu.Lock()
	got := append([]received(nil), rec.got...)
	rec.mu.Unlock()

	last := start
	lags := make([]float64, 0, len(got))
	seen := map[string]bool{}
	dups, unsigned, outOfOrder := 0, 0, 0
	lastSeq := map[string]int64{}
	for _, g := range got {
		if g.at.After(last) {
			last = g.at
		}
		lags = append(lags, g.lagMs)
		if seen[g.id] {
			dups++
		}
		seen[g.id] = true
		if !g.signed {
			unsigned++
		}
		if g.seq <= lastSeq[g.room] {
			outOfOrder++
		}
		lastSeq[g.room] = g.seq
	}
	sort.Float64s(lags)
	deliverySecs := last.Sub(start).Seconds()
	rate := float64(len(got)) / deliverySecs
	fmt.Printf("events: %d (%d rooms x %d: a create and %d title updates each), API calls failed: %d\n", total, *rooms,
		*perRoom, *perRoom-1, failed.Load())
	fmt.Printf("burst made in %.2f s (%.0f events/s through the API, %d callers)\n", generated, float64(total)/generated,
		*workers)
	fmt.Printf("delivered: %d of %d in %.2f s from the first call: %.0f events/s; the last %.2f s after the burst ended\n",
		len(got), total, deliverySecs, rate, deliverySecs-generated)
	fmt.Printf("lag (receipt - the event's timestamp): median %.1f ms, p90 %.1f, p99 %.1f, max %.1f\n",
		percentile(lags, 50), percentile(lags, 90), percentile(lags, 99), percentile(lags, 100))
	fmt.Printf("order per room: %d out of order; duplicates: %d; bad signatures: %d\n", outOfOrder, dups, unsigned)
	fmt.Printf("reference: the same receiver, %d POSTs straight from %d senders (kept-alive connections): %.0f/s\n",
		rec.ref.Load(), *senders, refRate)
	fmt.Printf("ratio delivered rate / reference rate: %.2f\n", rate/refRate)
	if len(got) < total || dups > 0 || unsigned > 0 || outOfOrder > 0 {
		os.Exit(1)
	}
}
