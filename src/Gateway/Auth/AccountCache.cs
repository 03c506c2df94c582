using Microsoft.Extensions.Options;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Users;

namespace ApiPlatform.Gateway.Auth;

/// <summary>
/// This silo's memory of accounts (users and organizations): exists, plan, system role, disabled, email verified, and
/// an organization's admins and owners. JWT claims are not trusted for any of these: a plan or role change, or a
/// disable, must reach existing access tokens and API keys on the very next request. So every request reads them here,
/// and the account's grain makes every silo forget them (and waits) before such a change answers: the API-key
/// mechanism (<see cref="ForgettingCache{TEntry}"/>), applied to accounts. A busy account costs no grain call per
/// request. Works the same on a silo and on the gateway-only role (an Orleans client observes grains too).
/// </summary>
/// <remarks>
/// While an account's grain is unreachable (its silo died and is not declared dead yet), an answer up to
/// <see cref="Failover.FailoverOptions.StaleCredentialAge"/> past its freshness is used instead of failing the request.
/// </remarks>
public sealed class AccountCache(IGrainFactory factory, GrainRefs grains, LocalHolders local, ApiClock clock, IOptionsMonitor<Failover.FailoverOptions> failover)
    : ForgettingCache<AccountAccess>(clock), IAccountHolder
{
    private readonly Lock _referenceGate = new();
    private IAccountHolder? _reference;

    /// <summary>This cache as the account grains address it (created on first use: a client may connect after start).</summary>
    public IAccountHolder Reference
    {
        get
        {
            lock (_referenceGate)
            {
                return _reference ??= local.Create<IAccountHolder>(factory, this);
            }
        }
    }

    /// <summary>The account's access facts; <see cref="AccountAccess.Missing"/> for an id that names no account.</summary>
    public async ValueTask<AccountAccess> GetAsync(string accountId)
    {
        if (TryGetFresh(accountId, out var known))
        {
            return known;
        }

        var stamp = Stamp;
        AccountAccess access;
        try
        {
            access = Ids.IsValid(accountId, Ids.User) ? await grains.Get<IUserGrain>(accountId).GetAccessAsync(Reference)
                : Ids.IsValid(accountId, Ids.Organization) ? await grains.Get<IOrganizationGrain>(accountId).GetAccessAsync(Reference)
                : AccountAccess.Missing;
        }
        catch (Exception e) when (Failover.ClusterFailures.IsUnavailable(e) && failover.CurrentValue is { Enabled: true } settings
            && TryGetStale(accountId, settings.StaleCredentialAge, out var stale))
        {
            ApiPlatform.Grains.Telemetry.ApiTelemetry.FailoverFallback("stale_account");
            return stale;
        }

        if (access.Exists)
        {
            Put(accountId, access, stamp);
        }

        return access;
    }

    public Task ForgetAsync(string accountId)
    {
        Forget(accountId);
        return Task.CompletedTask;
    }
}
