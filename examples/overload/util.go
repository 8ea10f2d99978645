package main

import (
	"slices"
	"strconv"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

func sortDurations(xs []time.Duration) { slices.Sort(xs) }
