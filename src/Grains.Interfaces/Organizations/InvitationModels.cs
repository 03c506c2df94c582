namespace ApiPlatform.Grains.Organizations;

/// <summary>Where an invitation stands.</summary>
public static class InvitationStates
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Revoked = "revoked";
    public const string Expired = "expired";
}

/// <summary>
/// Invitation tokens are <c>ivt_{organization id suffix}_{invitation id suffix}_{secret}</c>: the organization's grain
/// is found without a lookup, and only the SHA-256 of the secret is stored.
/// </summary>
public static class InvitationTokens
{
    public const string Prefix = "ivt";

    public static string Create(string orgId, string invitationId, string secret) =>
        $"{Prefix}_{Ids.Suffix(orgId)}_{Ids.Suffix(invitationId)}_{secret}";

    public static bool TryParse(string? token, out string orgId, out string invitationId, out string secret)
    {
        orgId = invitationId = secret = "";
        var parts = token?.Split('_');
        if (parts is not [Prefix, var org, var inv, var s] || token!.Length > 200 || s.Length < 20)
        {
            return false;
        }

        (orgId, invitationId, secret) = (Ids.Organization + "_" + org, Ids.Invitation + "_" + inv, s);
        return Ids.IsValid(orgId, Ids.Organization) && Ids.IsValid(invitationId, Ids.Invitation);
    }
}

/// <summary>An invitation as its organization's admins see it.</summary>
[GenerateSerializer, Immutable, Alias("invitation-view.v1")]
public sealed record InvitationView(
    [property: Id(0)] string Id,
    [property: Id(1)] string OrganizationId,
    [property: Id(2)] string Email,
    [property: Id(3)] string Role,
    [property: Id(4)] string InvitedBy,
    [property: Id(5)] string Status,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset ExpiresAt,
    [property: Id(8)] DateTimeOffset? AcceptedAt);

/// <summary>What inviting someone asks for.</summary>
[GenerateSerializer, Immutable, Alias("new-invitation.v1")]
public sealed record NewInvitation(
    [property: Id(0)] string InvitationId,
    [property: Id(1)] string Email,
    [property: Id(2)] string Role,
    [property: Id(3)] TimeSpan Lifetime,
    [property: Id(4)] int MaxPending);

/// <summary>What an invitation operation came to.</summary>
[GenerateSerializer, Alias("InvitationResult")]
public enum InvitationStatus
{
    Done,
    /// <summary>No such organization or invitation, or the actor is not a member; or the token is unknown, used or expired.</summary>
    NotFound,
    /// <summary>The actor's role does not allow it.</summary>
    Forbidden,
    /// <summary>A pending invitation for this email exists already.</summary>
    AlreadyInvited,
    /// <summary>The invited user is a member already.</summary>
    AlreadyMember,
    /// <summary>The organization has as many pending invitations as allowed.</summary>
    LimitReached,
    /// <summary>The accepting user's email is not the invited one.</summary>
    EmailMismatch,
    /// <summary>The accepting user's email is not verified.</summary>
    EmailNotVerified,
}

/// <summary>Outcome of an invitation operation; <see cref="Token"/> is the secret token, right after inviting only.</summary>
[GenerateSerializer, Immutable, Alias("invitation-outcome.v1")]
public sealed record InvitationOutcome(
    [property: Id(0)] InvitationStatus Status,
    [property: Id(1)] InvitationView? Invitation = null,
    [property: Id(2)] string? Token = null,
    [property: Id(3)] MemberView? Member = null,
    [property: Id(4)] OrganizationView? Organization = null);

/// <summary>A page of invitations with the exact total.</summary>
[GenerateSerializer, Immutable, Alias("invitation-page.v1")]
public sealed record InvitationPage(
    [property: Id(0)] IReadOnlyList<InvitationView> Items,
    [property: Id(1)] long Total);

/// <summary>Outcome of listing invitations: the page when <see cref="Status"/> is <see cref="InvitationStatus.Done"/>.</summary>
[GenerateSerializer, Immutable, Alias("invitation-list.v1")]
public sealed record InvitationList(
    [property: Id(0)] InvitationStatus Status,
    [property: Id(1)] InvitationPage? Page = null);
