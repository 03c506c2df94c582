using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Identity;

/// <summary>Session housekeeping (configuration section <c>Sessions</c>).</summary>
public sealed class SessionRetentionOptions
{
    public const string Section = "Sessions";

    /// <summary>How often each silo deletes sessions that ended or expired.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long an ended or expired session is kept before it is deleted. Until then a reused refresh token of it is
    /// still recognised as reuse (and logged) rather than as unknown.
    /// </summary>
    public TimeSpan EndedRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Checks the settings at start-up.</summary>
    public static bool IsValid(SessionRetentionOptions o) => o.PurgeInterval > TimeSpan.Zero && o.EndedRetention >= TimeSpan.Zero;
}

/// <summary>
/// Deletes sessions that ended (logout, password change, reuse, disable) or expired more than
/// <see cref="SessionRetentionOptions.EndedRetention"/> ago, so the table holds live sessions, not every login ever made. Runs on
/// every silo; the delete is idempotent, so overlapping runs are harmless.
/// </summary>
public sealed class SessionPurgeService(SessionStore store, IOptions<SessionRetentionOptions> options, ApiClock clock,
    ILogger<SessionPurgeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PurgeInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var purged = await store.PurgeAsync(clock.UtcNow - options.Value.EndedRetention);
                if (purged > 0)
                {
                    logger.LogInformation("Purged {Count} ended or expired sessions", purged);
                }
            }
            catch (System.Data.Common.DbException e)
            {
                logger.LogWarning(e, "Purging ended sessions failed; will retry");
            }
        }
    }
}
