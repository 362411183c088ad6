module liveroom/bench/webhooks

go 1.24.0
