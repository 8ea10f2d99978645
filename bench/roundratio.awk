# Median, over rounds, of each benchmark's time divided by the time of the
# context-WithTimeout sub-benchmark of the same group in the same round.
BEGIN { round = 0 }
/^Benchmark/ {
	split($1, p, "/"); g = p[1]; s = p[2]; sub(/-[0-9]+$/, "", s)
	if ((g, s) in cur) { round++; delete cur }
	cur[g, s] = 1; t[round, g, s] = $3; groups[g] = 1; subs[s] = 1
}
END {
	for (g in groups) for (s in subs) {
		if (s == "context-WithTimeout") continue
		n = 0
		for (r = 0; r <= round; r++)
			if ((r, g, s) in t && (r, g, "context-WithTimeout") in t)
				v[++n] = t[r, g, s] / t[r, g, "context-WithTimeout"]
		if (n == 0) continue
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "%-45s %.2fx\n", g "/" s, m
	}
}
