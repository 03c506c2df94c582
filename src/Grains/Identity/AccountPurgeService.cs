using ApiPlatform.Grains.Organizations;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Identity;

/// <summary>Account housekeeping (configuration section <c>Accounts</c>).</summary>
public sealed class AccountRetentionOptions
{
    public const string Section = "Accounts";

    /// <summary>How often each silo deletes what ended.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long an ended or expired session, a used or expired mail token and an accepted, revoked or expired invitation
    /// are kept before they are deleted. Until then a reused refresh token of an ended session is still recognised as
    /// reuse (and logged), and an invitation still shows its outcome in its organization's list.
    /// </summary>
    public TimeSpan EndedRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Checks the settings at start-up.</summary>
    public static bool IsValid(AccountRetentionOptions o) => o.PurgeInterval > TimeSpan.Zero && o.EndedRetention >= TimeSpan.Zero;
}

/// <summary>
/// Deletes sessions that ended (logout, password change, reuse, disable) or expired, used or expired mail tokens, and
/// settled invitations, once they are older than <see cref="AccountRetentionOptions.EndedRetention"/>: the tables hold
/// what is live, not every login ever made. Runs on every silo; the deletes are idempotent, so overlapping runs are
/// harmless.
/// </summary>
public sealed class AccountPurgeService(
    SessionStore sessions,
    AccountTokenStore tokens,
    OrganizationStore organizations,
    IOptions<AccountRetentionOptions> options,
    ApiClock clock,
    ILogger<AccountPurgeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PurgeInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var cutoff = clock.UtcNow - options.Value.EndedRetention;
                var purged = await sessions.PurgeAsync(cutoff) + await tokens.PurgeAsync(cutoff) + await organizations.PurgeInvitationsAsync(cutoff);
                if (purged > 0)
                {
                    logger.LogInformation("Purged {Count} ended sessions, used tokens and settled invitations", purged);
                }
            }
            catch (System.Data.Common.DbException e)
            {
                logger.LogWarning(e, "Purging ended sessions, tokens and invitations failed; will retry");
            }
        }
    }
}
