using ApiPlatform.Grains;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Organizations;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// Deletes sessions that ended (logout, password change, reuse, disable) or expired, used or expired mail tokens, and
/// settled invitations, once they are older than <see cref="AccountRetentionOptions.EndedRetention"/>: the tables hold
/// what is live, not every login ever made. Runs on every silo; the deletes are idempotent, so overlapping runs are
/// harmless. It lives in the host because it spans two features' tables (Identity's sessions and tokens,
/// Organizations' invitations), which never reach into each other's stores.
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
