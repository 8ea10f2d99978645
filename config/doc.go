// Package config loads pforge and Fustor YAML configuration into the
// packages of this module.
package config
