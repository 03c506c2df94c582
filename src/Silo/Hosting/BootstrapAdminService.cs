using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Users;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// Creates the administrator named by <c>Bootstrap:AdminEmail</c> / <c>Bootstrap:AdminPassword</c> when no account
/// has that email. Registered after Orleans, so it runs once the silo is up. Administrators never come from
/// "first to register".
/// </summary>
/// <remarks>
/// Every silo runs this at start, so it is written to be run by all of them at once: the administrator's user id is
/// derived from the email (<see cref="AdminUserId"/>), and registration with a fixed id is idempotent, so silos
/// starting together all build the one same account (claims held by that id, the user created once) instead of racing
/// to create different ones, and a start that crashed half-way is finished by the next one.
/// </remarks>
public sealed class BootstrapAdminService(
    IOptions<BootstrapOptions> options, IdentityService identity, IGrainFactory grains, ILogger<BootstrapAdminService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        // The settings were checked at start-up (BootstrapOptionsValidator): with an email comes a usable password.
        if (string.IsNullOrWhiteSpace(o.AdminEmail) || o.AdminPassword is null)
        {
            return;
        }

        if (await grains.GetGrain<IUniqueIndexGrain>(UniqueKeys.Email(o.AdminEmail)).GetOwnerAsync() is not null)
        {
            return;
        }

        // Idempotent steps, so a step that lost a race with another silo (a storage write conflict while the cluster
        // forms) is simply run again.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var admin = await identity.RegisterAsync(
                    new Registration(o.AdminEmail, o.AdminUsername, o.AdminPassword, new UserProfile(null, null, null)),
                    SystemRoles.Admin, PlanOptions.Enterprise, AdminUserId(o.AdminEmail), emailVerified: true);
                logger.LogInformation("Bootstrap administrator {UserId} is in place", admin.Id);
                return;
            }
            catch (ApiException e) when (e.Code == ProblemCodes.AlreadyExists)
            {
                // An account of another id holds the email (created before ids were derived) or the username is taken.
                logger.LogWarning("Bootstrap administrator not created: {Detail}", e.Detail);
                return;
            }
            catch (Exception e) when (attempt < 5 && e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Bootstrap administrator: attempt {Attempt} failed; trying again", attempt);
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The bootstrap administrator's user id: the same on every silo for one email.</summary>
    public static string AdminUserId(string email)
    {
        var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("bootstrap-admin\n" + UniqueKeys.Email(email)));
        const string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        var chars = new char[22];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[digest[i] % alphabet.Length];
        }

        return Grains.Ids.User + "_" + new string(chars);
    }
}
