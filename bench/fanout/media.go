package main

// The publisher's media: an IVF (VP8) and an Ogg (Opus) file made at run time by run.sh,
// read whole into memory with Pion's readers, then sent in a loop at real-time pace.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

type videoFrame struct {
	data []byte
	key  bool // VP8 frame tag P bit == 0
}

type videoClip struct {
	frames   []videoFrame
	frameDur time.Duration
	bytes    int // all frames' bytes (one loop)
}

func (c *videoClip) loopDuration() time.Duration { return time.Duration(len(c.frames)) * c.frameDur }

// loadIVF reads every frame of a VP8 IVF file. The frame duration comes from the frame
// timestamps (median step, in the header's timebase), or fps when they say nothing useful.
func loadIVF(path string, fps float64) (*videoClip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, hdr, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if hdr.FourCC != "VP80" {
		return nil, fmt.Errorf("%s: codec %q, want VP80", path, hdr.FourCC)
	}
	clip := &videoClip{}
	var ts []uint64
	for {
		frame, fh, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(frame) == 0 {
			continue
		}
		clip.frames = append(clip.frames, videoFrame{data: frame, key: frame[0]&0x01 == 0})
		clip.bytes += len(frame)
		ts = append(ts, fh.Timestamp)
	}
	if len(clip.frames) < 2 {
		return nil, fmt.Errorf("%s: only %d frames", path, len(clip.frames))
	}
	if !clip.frames[0].key {
		return nil, fmt.Errorf("%s: the first frame is not a key frame", path)
	}
	clip.frameDur = time.Duration(float64(time.Second) / fps)
	var steps []uint64
	for i := 1; i < len(ts); i++ {
		if ts[i] > ts[i-1] {
			steps = append(steps, ts[i]-ts[i-1])
		}
	}
	if len(steps) > 0 && hdr.TimebaseDenominator > 0 && hdr.TimebaseNumerator > 0 {
		sort.Slice(steps, func(a, b int) bool { return steps[a] < steps[b] })
		d := time.Duration(float64(steps[len(steps)/2]) * float64(hdr.TimebaseNumerator) / float64(hdr.TimebaseDenominator) * float64(time.Second))
		if d >= 5*time.Millisecond && d <= 200*time.Millisecond {
			clip.frameDur = d
		}
	}
	return clip, nil
}

// nextKey returns the index of the first key frame at or after i (wrapping).
func (c *videoClip) nextKey(i int) int {
	for k := 0; k < len(c.frames); k++ {
		j := (i + k) % len(c.frames)
		if c.frames[j].key {
			return j
		}
	}
	return 0
}

type audioClip struct {
	packets [][]byte // one Opus packet each, 20 ms
	bytes   int
}

// loadOgg reads an Ogg Opus file made with one packet per page (oggmux max-page-delay=1),
// which is what Pion's page reader needs to hand out whole packets: a page whose granule
// step is not one 20 ms frame (960 at 48 kHz) is refused, except the last (end trimming).
func loadOgg(path string) (*audioClip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	clip := &audioClip{}
	var last uint64
	bad := 0
	for {
		page, ph, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if _, isHeader := ph.HeaderType(page); isHeader || ph.GranulePosition == 0 {
			continue
		}
		if last != 0 && ph.GranulePosition-last != 960 {
			bad++
		}
		last = ph.GranulePosition
		clip.packets = append(clip.packets, page)
		clip.bytes += len(page)
	}
	if bad > 1 {
		return nil, fmt.Errorf("%s: %d pages are not one 20 ms Opus packet each (mux with oggmux max-page-delay=1)", path, bad)
	}
	if len(clip.packets) == 0 {
		return nil, fmt.Errorf("%s: no audio packets", path)
	}
	return clip, nil
}
