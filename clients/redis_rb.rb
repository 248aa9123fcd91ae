#!/usr/bin/env ruby
# frozen_string_literal: true

# warden external workload: redis-rb's Sentinel client (Debian `ruby-redis`, 4.8) with the
# library's defaults: `Redis.new(url: "redis://<master>", sentinels:, role: :master)`, as
# its 4.x README shows (`name:` came in 5.0).
#
# It writes `SET <prefix>:<seq> <value> EX <ttl>` at WARDEN_RATE writes/s and prints one line
# per write on stdout (`<key> <outcome> <node|-> <monotonic_ns>`, README "Bring your own
# client"); `node` is the peer address of the connection's socket. Settings come from the
# environment warden sets: WARDEN_SENTINELS, WARDEN_MASTER, WARDEN_KEY_PREFIX, WARDEN_RATE,
# WARDEN_TTL_SECONDS, WARDEN_VALUE_SIZE; credentials only in WARDEN_REDIS_USER /
# WARDEN_REDIS_PASSWORD and WARDEN_SENTINEL_USER / WARDEN_SENTINEL_PASSWORD; TLS in
# WARDEN_TLS, WARDEN_TLS_CA / _CERT / _KEY / _SERVER_NAME / _INSECURE (redis-rb 4.8 uses one
# TLS setting for Sentinels and nodes alike); WARDEN_RESOLVE (`name=ip,…`) maps host names.
# A rejected password ends it with one line on stderr (never the password), exit 2.
# `--tight` is the tuned variant: 10 reconnect attempts without delay instead of 1.

require 'redis'
require 'openssl'
require 'socket'

NAME = ARGV.include?('--tight') ? 'redis-rb (tight)' : 'redis-rb'

RESOLVE = ENV.fetch('WARDEN_RESOLVE', '').split(',').filter_map do |e|
  e.split('=', 2) if e.include?('=')
end.to_h

unless RESOLVE.empty?
  # redis-rb looks every host up with Socket.getaddrinfo (connection/ruby.rb).
  class << Socket
    prepend(Module.new do
      def getaddrinfo(host, *args)
        super(RESOLVE.fetch(host, host), *args)
      end
    end)
  end
end

def tls_options
  env = ENV
  return {} unless %w[both nodes sentinels].include?(env['WARDEN_TLS'].to_s)

  params = {}
  params[:ca_file] = env['WARDEN_TLS_CA'] if env['WARDEN_TLS_CA'].to_s != ''
  if env['WARDEN_TLS_CERT'].to_s != ''
    params[:cert] = OpenSSL::X509::Certificate.new(File.read(env['WARDEN_TLS_CERT']))
    params[:key] = OpenSSL::PKey.read(File.read(env['WARDEN_TLS_KEY']))
  end
  params[:verify_mode] = OpenSSL::SSL::VERIFY_NONE if env['WARDEN_TLS_INSECURE'] == '1'
  params[:verify_hostname] = false if env['WARDEN_TLS_SERVER_NAME'].to_s != ''
  { ssl: true, ssl_params: params }
end

def credentials(user_var, password_var)
  password = ENV[password_var].to_s
  return {} if password.empty?

  user = ENV[user_var].to_s
  user.empty? ? { password: password } : { username: user, password: password }
end

# The peer of the client's socket, `host:port`, or `-` when it has none.
def peer(redis)
  sock = redis._client.connection&.instance_variable_get(:@sock)
  sock = sock.to_io if sock.respond_to?(:to_io)
  addr = sock&.remote_address
  addr ? "#{addr.ip_address}:#{addr.ip_port}" : '-'
rescue StandardError
  '-'
end

def outcome_of(error)
  case error
  when Redis::TimeoutError then 'timeout'
  when Redis::CannotConnectError then 'CONNECTION' # nothing was sent
  when Redis::ConnectionError
    error.message.include?('role mismatch') ? 'ROLEMISMATCH' : 'unknown'
  when Redis::CommandError
    kind = error.message.split.first.to_s
    kind.match?(/\A[A-Z]+\z/) ? kind : 'ERR'
  else 'unknown'
  end
end

def auth_error?(error)
  error.is_a?(Redis::CommandError) && error.message.start_with?('WRONGPASS', 'NOAUTH', 'ERR invalid password')
end

sentinels = ENV.fetch('WARDEN_SENTINELS').split(',').map do |a|
  host, port = a.split(/:(?=\d+\z)/)
  { host: host, port: port.to_i }.merge(credentials('WARDEN_SENTINEL_USER', 'WARDEN_SENTINEL_PASSWORD'))
end
# redis-rb 4.8 takes the master name as the URL's host (`name:` is 5.x).
options = { url: "redis://#{ENV.fetch('WARDEN_MASTER')}", sentinels: sentinels, role: :master }
options.merge!(credentials('WARDEN_REDIS_USER', 'WARDEN_REDIS_PASSWORD'))
options.merge!(tls_options)
options.merge!(reconnect_attempts: 10, reconnect_delay: 0, reconnect_delay_max: 0) if NAME.end_with?('(tight)')
redis = Redis.new(**options)

prefix = ENV.fetch('WARDEN_KEY_PREFIX')
rate = ENV.fetch('WARDEN_RATE', '0').to_f
ttl = ENV.fetch('WARDEN_TTL_SECONDS', '1800').to_i
value = Random.new.bytes(ENV.fetch('WARDEN_VALUE_SIZE', '512').to_i)
period = rate.positive? ? 1.0 / rate : 0.0
stopping = false
Signal.trap('TERM') { stopping = true }
$stdout.sync = false

clock = -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }
next_at = clock.call
seq = 0
begin
  until stopping
    if period.positive?
      next_at += period
      now = clock.call
      if next_at > now
        sleep(next_at - now)
      elsif now - next_at > 0.1
        next_at = now # fell behind (an outage): do not burst to catch up
      end
    end
    key = "#{prefix}:#{seq}"
    node = '-'
    begin
      redis.set(key, value, ex: ttl)
      outcome = 'ok'
      node = peer(redis)
    rescue Redis::BaseError => e
      if auth_error?(e)
        warn "#{NAME}: authentication failed: #{e.class}: #{e.message}"
        exit 2
      end
      outcome = outcome_of(e)
      node = peer(redis)
    end
    $stdout.write("#{key} #{outcome} #{node} #{Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)}\n")
    $stdout.flush
    seq += 1
  end
rescue Errno::EPIPE, Interrupt
  nil
end
