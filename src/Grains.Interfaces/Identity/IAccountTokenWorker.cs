namespace ApiPlatform.Grains.Identity;

/// <summary>
/// Single-use account tokens sent by mail: password reset (<c>pr_…</c>) and email verification (<c>ev_…</c>). A token is
/// <c>{kind}_{id}_{secret}</c>; only the SHA-256 of the secret is stored.
/// </summary>
public static class AccountTokens
{
    public const string PasswordReset = "pr";
    public const string EmailVerification = "ev";

    public static bool IsKind(string? kind) => kind is PasswordReset or EmailVerification;

    /// <summary>Splits a presented token; false when it is malformed or of another kind.</summary>
    public static bool TryParse(string? token, string kind, out string id, out string secret)
    {
        id = secret = "";
        var parts = token?.Split('_');
        if (parts is not [var k, var i, var s] || k != kind || token!.Length > 200 || i.Length != 22 || s.Length < 20)
        {
            return false;
        }

        (id, secret) = (i, s);
        return true;
    }
}

/// <summary>Whose a consumed token was: the user, and the email it was sent to.</summary>
[GenerateSerializer, Immutable, Alias("account-token-claim.v1")]
public sealed record AccountTokenClaim(
    [property: Id(0)] string UserId,
    [property: Id(1)] string Email);

/// <summary>
/// Issues and consumes account tokens next to the data (a stateless worker on every silo). Consuming is one conditional
/// update (unused, unexpired, matching), so a token works once even when presented twice at the same moment.
/// </summary>
[Alias("IAccountTokenWorker")]
public interface IAccountTokenWorker : IGrainWithIntegerKey
{
    /// <summary>A new token for <paramref name="userId"/>; the user's earlier unused tokens of that kind stop working.</summary>
    [Alias("IssueAsync")]
    Task<string> IssueAsync(string kind, string userId, string email, TimeSpan lifetime);

    /// <summary>Uses the token up; null when it is unknown, used, expired or of another kind.</summary>
    [Alias("ConsumeAsync")]
    Task<AccountTokenClaim?> ConsumeAsync(string kind, string token);
}
