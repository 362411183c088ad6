package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// loopbackSettings keeps Pion's ICE on 127.0.0.1 only: udp4, the lo interface, loopback
// candidates included (Pion leaves them out by default), no mDNS.
func loopbackSettings() webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return se
}

var videoFeedback = []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}

// videoCodecParams: the one video codec both sides offer. VP8 (payload type 96), or H.264
// constrained baseline 3.1 with packetization-mode=1 (profile-level-id 42e01f, what browsers
// offer first and what Broadcast Box, VP8-less, accepts), payload type 102.
func videoCodecParams(codec string, fb []webrtc.RTCPFeedback) (webrtc.RTPCodecParameters, error) {
	switch codec {
	case "vp8":
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
			PayloadType:        96,
		}, nil
	case "h264":
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
				SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
			PayloadType: 102,
		}, nil
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("unknown codec %q (vp8, h264)", codec)
}

func registerCodecs(m *webrtc.MediaEngine, fb []webrtc.RTCPFeedback, codec string) error {
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	v, err := videoCodecParams(codec, fb)
	if err != nil {
		return err
	}
	return m.RegisterCodec(v, webrtc.RTPCodecTypeVideo)
}

// publisherAPI: VP8 or H.264, + Opus, Pion's default interceptors (NACK responder, sender
// reports, transport-cc, ...), as a browser publisher would have.
func publisherAPI(codec string) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m, videoFeedback, codec); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(loopbackSettings())), nil
}

// viewerAPI: VP8 or H.264, + Opus without RTX; interceptors "min" (NACK generator + receiver
// reports: what a browser viewer sends the server), "none", or "default" (Pion's set).
func viewerAPI(mode, codec string) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m, videoFeedback, codec); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	switch mode {
	case "none":
	case "default":
		if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
			return nil, err
		}
	case "min":
		g, err := nack.NewGeneratorInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(g)
		rr, err := report.NewReceiverInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(rr)
	default:
		return nil, fmt.Errorf("unknown viewer interceptors %q (min, none, default)", mode)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(loopbackSettings())), nil
}

var httpClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 1024, DisableCompression: true},
}

type sdpError struct {
	status int
	body   string
}

func (e *sdpError) Error() string { return fmt.Sprintf("HTTP %d: %.200s", e.status, e.body) }

// postSDP: POST application/sdp, expect 201 + answer. Returns the answer and the session
// resource URL (Location, resolved against the endpoint).
func postSDP(ctx context.Context, endpoint, token, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewBufferString(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return "", "", &sdpError{res.StatusCode, string(body)}
	}
	if loc := res.Header.Get("Location"); loc != "" {
		if base, err := url.Parse(endpoint); err == nil {
			if u, err := base.Parse(loc); err == nil {
				location = u.String()
			}
		}
	}
	return string(body), location, nil
}

func deleteSession(location, token string) {
	if location == "" {
		return
	}
	req, err := http.NewRequest(http.MethodDelete, location, nil)
	if err != nil {
		return
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if res, err := httpClient.Do(req); err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}

// ---- publisher ----

type publisher struct {
	pc          *webrtc.PeerConnection
	location    string
	token       string
	video       *videoClip
	audio       *audioClip
	pliKeyframe bool

	videoBytes  atomic.Uint64 // codec bytes handed to the track (VP8 frames; H.264 NAL units)
	videoFrames atomic.Uint64
	audioBytes  atomic.Uint64
	keyFrames   atomic.Uint64 // key frames sent (the file's and forced ones)
	forcedKeys  atomic.Uint64 // key frames sent early because of a PLI/FIR
	plis        atomic.Uint64 // PLI + FIR received
	nacks       atomic.Uint64 // NACK packets received
	lateFrames  atomic.Uint64 // frames sent more than one frame late (the generator fell behind)
	pliPending  atomic.Bool
	stop        chan struct{}
	wg          sync.WaitGroup
	connectedAt time.Duration
}

func startPublisher(ctx context.Context, api *webrtc.API, endpoint, token, codec string, v *videoClip, a *audioClip, pliKeyframe bool) (*publisher, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &publisher{pc: pc, token: token, video: v, audio: a, pliKeyframe: pliKeyframe, stop: make(chan struct{})}
	vc, err := videoCodecParams(codec, nil)
	if err != nil {
		return nil, err
	}
	vt, err := webrtc.NewTrackLocalStaticSample(vc.RTPCodecCapability, "video", "fanout")
	if err != nil {
		return nil, err
	}
	at, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "fanout")
	if err != nil {
		return nil, err
	}
	for _, t := range []*webrtc.TrackLocalStaticSample{vt, at} {
		tr, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			pc.Close()
			return nil, err
		}
		sender := tr.Sender()
		go p.readRTCP(sender)
	}
	connected := make(chan struct{})
	var once sync.Once
	t0 := time.Now()
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.connectedAt = time.Since(t0)
			once.Do(func() { close(connected) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, err
	}
	<-gathered
	answer, loc, err := postSDP(ctx, endpoint, token, pc.LocalDescription().SDP)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("WHIP %s: %w", endpoint, err)
	}
	p.location = loc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		pc.Close()
		return nil, fmt.Errorf("WHIP answer: %w", err)
	}
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		pc.Close()
		return nil, errors.New("publisher: not connected within 15 s")
	case <-ctx.Done():
		pc.Close()
		return nil, ctx.Err()
	}
	p.wg.Add(2)
	go p.sendVideo(vt)
	go p.sendAudio(at)
	return p, nil
}

func (p *publisher) readRTCP(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pk := range pkts {
			switch pk.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.plis.Add(1)
				if p.pliKeyframe {
					p.pliPending.Store(true)
				}
			case *rtcp.TransportLayerNack:
				p.nacks.Add(1)
			}
		}
	}
}

// pace sleeps until the i-th tick after start; a sender more than a second behind restarts
// its clock (and says so in lateFrames) rather than bursting.
func pace(start *time.Time, i *int64, d time.Duration, late *atomic.Uint64, stop chan struct{}) bool {
	*i++
	next := start.Add(time.Duration(*i) * d)
	now := time.Now()
	if wait := next.Sub(now); wait > 0 {
		select {
		case <-stop:
			return false
		case <-time.After(wait):
		}
	} else if -wait > d {
		if late != nil {
			late.Add(1)
		}
		if -wait > time.Second {
			*start = now
			*i = 0
		}
	}
	select {
	case <-stop:
		return false
	default:
		return true
	}
}

// sendVideo loops the clip at its frame rate. A PLI/FIR (when pliKeyframe) makes the next
// frame the clip's next key frame, at most one forced key frame per 300 ms, like libwebrtc's
// encoder (kMinKeyframeSendIntervalMs): the stream jumps ahead, timestamps run on.
func (p *publisher) sendVideo(t *webrtc.TrackLocalStaticSample) {
	defer p.wg.Done()
	start := time.Now()
	var tick int64
	idx := 0
	var lastKey time.Time
	for {
		if p.pliPending.Load() && time.Since(lastKey) >= 300*time.Millisecond {
			p.pliPending.Store(false)
			if !p.video.frames[idx].key {
				idx = p.video.nextKey(idx)
				p.forcedKeys.Add(1)
			}
		}
		f := p.video.frames[idx]
		if err := t.WriteSample(media.Sample{Data: f.data, Duration: p.video.frameDur}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return
		}
		p.videoBytes.Add(uint64(f.codec))
		p.videoFrames.Add(1)
		if f.key {
			lastKey = time.Now()
			p.keyFrames.Add(1)
		}
		idx = (idx + 1) % len(p.video.frames)
		if !pace(&start, &tick, p.video.frameDur, &p.lateFrames, p.stop) {
			return
		}
	}
}

func (p *publisher) sendAudio(t *webrtc.TrackLocalStaticSample) {
	defer p.wg.Done()
	start := time.Now()
	var tick int64
	idx := 0
	for {
		pk := p.audio.packets[idx]
		if err := t.WriteSample(media.Sample{Data: pk, Duration: 20 * time.Millisecond}); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return
		}
		p.audioBytes.Add(uint64(len(pk)))
		idx = (idx + 1) % len(p.audio.packets)
		if !pace(&start, &tick, 20*time.Millisecond, nil, p.stop) {
			return
		}
	}
}

func (p *publisher) close() {
	close(p.stop)
	p.wg.Wait()
	deleteSession(p.location, p.token)
	p.pc.Close()
}

// ---- viewer ----

type viewer struct {
	id       int
	pc       *webrtc.PeerConnection
	location string
	token    string
	err      error
	status   int // HTTP status of a refused offer

	t0         time.Time
	answerAt   atomic.Int64 // ns since t0
	iceAt      atomic.Int64
	connAt     atomic.Int64 // DTLS done (PeerConnectionStateConnected)
	firstPkt   atomic.Int64
	firstKey   atomic.Int64
	failed     atomic.Bool // ICE/peer connection failed or disconnected after connecting
	video      seqCounter
	audio      seqCounter
	videoTrack atomic.Bool
	audioTrack atomic.Bool
}

func (v *viewer) since() int64 { return int64(time.Since(v.t0)) }

func setOnce(a *atomic.Int64, val int64) { a.CompareAndSwap(0, val) }

func startViewer(ctx context.Context, api *webrtc.API, id int, endpoint, token string) *viewer {
	v := &viewer{id: id, t0: time.Now(), token: token}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		v.err = err
		return v
	}
	v.pc = pc
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			v.err = err
			return v
		}
	}
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		switch s {
		case webrtc.ICEConnectionStateConnected:
			setOnce(&v.iceAt, v.since())
		case webrtc.ICEConnectionStateFailed, webrtc.ICEConnectionStateDisconnected:
			v.failed.Store(true)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			setOnce(&v.connAt, v.since())
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		go func() { // drain RTCP (sender reports) so the interceptors see it
			buf := make([]byte, 1500)
			for {
				if _, _, err := r.Read(buf); err != nil {
					return
				}
			}
		}()
		isVideo := t.Kind() == webrtc.RTPCodecTypeVideo
		isH264 := strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeH264)
		c := &v.audio
		if isVideo {
			c = &v.video
			v.videoTrack.Store(true)
		} else {
			v.audioTrack.Store(true)
		}
		buf := make([]byte, 1600)
		for {
			n, _, err := t.Read(buf)
			if err != nil {
				return
			}
			seq, payload, ok := rtpHeader(buf[:n])
			if !ok {
				continue
			}
			setOnce(&v.firstPkt, v.since())
			codecLen := len(payload)
			if isVideo {
				var key bool
				if isH264 {
					var ok bool
					if codecLen, key, ok = h264Payload(payload); !ok {
						continue
					}
				} else {
					dl, k, ok := vp8Descriptor(payload)
					if !ok {
						continue
					}
					codecLen -= dl
					key = k
				}
				if key {
					setOnce(&v.firstKey, v.since())
				}
			}
			c.add(seq, len(payload), codecLen)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		v.err = err
		return v
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		v.err = err
		return v
	}
	<-gathered
	v.t0 = time.Now() // the clock of every viewer figure starts at its WHEP POST
	answer, loc, err := postSDP(ctx, endpoint, token, pc.LocalDescription().SDP)
	if err != nil {
		var se *sdpError
		if errors.As(err, &se) {
			v.status = se.status
		}
		v.err = err
		return v
	}
	v.location = loc
	setOnce(&v.answerAt, v.since())
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		v.err = fmt.Errorf("answer: %w", err)
	}
	return v
}

func (v *viewer) close() {
	deleteSession(v.location, v.token)
	if v.pc != nil {
		v.pc.Close()
	}
}
