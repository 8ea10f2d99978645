module github.com/seed94f50169/resilience

go 1.25.0

require (
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.5
	golang.org/x/time v0.15.0
)

require github.com/stretchr/testify v1.12.1 // indirect
