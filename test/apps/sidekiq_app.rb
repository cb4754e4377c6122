# Sidekiq through redoubt: loaded by the worker (sidekiq -r) and by the
# client side (ruby sidekiq_app.rb N), which pushes N jobs and waits until
# the worker has run them all. Only REDIS_URL tells Sidekiq where Redis is.
require "sidekiq"

class DoubleJob
  include Sidekiq::Worker
  sidekiq_options retry: false

  def perform(i)
    Sidekiq.redis { |r| r.incr("sidekiq-done") }
  end
end

if $PROGRAM_NAME == __FILE__
  n = (ARGV[0] || 100).to_i
  Sidekiq.redis { |r| r.del("sidekiq-done") }
  n.times { |i| DoubleJob.perform_async(i) }
  deadline = Time.now + 60
  loop do
    done = Sidekiq.redis { |r| r.get("sidekiq-done") }.to_i
    if done >= n
      puts "sidekiq: #{n} jobs done"
      break
    end
    abort "sidekiq: only #{done} of #{n} jobs done" if Time.now > deadline
    sleep 0.1
  end
end
