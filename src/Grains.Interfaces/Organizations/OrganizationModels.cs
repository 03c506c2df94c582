namespace ApiPlatform.Grains.Organizations;

/// <summary>Organization roles, in rising order of rights.</summary>
public static class OrgRoles
{
    public const string Member = "member";
    public const string Admin = "admin";
    public const string Owner = "owner";

    public static readonly IReadOnlyList<string> All = [Owner, Admin, Member];

    public static bool IsValid(string? role) => role is Member or Admin or Owner;

    /// <summary>True when <paramref name="role"/> has at least the rights of <paramref name="needed"/>.</summary>
    public static bool AtLeast(string? role, string needed) => Rank(role) >= Rank(needed);

    private static int Rank(string? role) => role switch
    {
        Owner => 3,
        Admin => 2,
        Member => 1,
        _ => 0,
    };
}

/// <summary>An organization as shown to its members.</summary>
[GenerateSerializer, Immutable, Alias("organization-view.v1")]
public sealed record OrganizationView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Slug,
    [property: Id(3)] string Plan,
    [property: Id(4)] int MemberCount,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset UpdatedAt);

/// <summary>One member of an organization.</summary>
[GenerateSerializer, Immutable, Alias("member-view.v1")]
public sealed record MemberView(
    [property: Id(0)] string UserId,
    [property: Id(1)] string Role,
    [property: Id(2)] DateTimeOffset JoinedAt);

/// <summary>What a user may do in an organization, and the plan that caps what it owns.</summary>
[GenerateSerializer, Immutable, Alias("membership.v1")]
public sealed record Membership(
    [property: Id(0)] string Role,
    [property: Id(1)] string Plan);

/// <summary>What an organization operation came to.</summary>
[GenerateSerializer, Alias("OrgResult")]
public enum OrganizationStatus
{
    Done,
    /// <summary>No such organization, or the actor is not a member (the two look the same).</summary>
    NotFound,
    /// <summary>The actor's role does not allow it.</summary>
    Forbidden,
    /// <summary>The target user is not a member.</summary>
    NotMember,
    /// <summary>The target user is a member already.</summary>
    AlreadyMember,
    /// <summary>It would leave the organization without an owner.</summary>
    LastOwner,
    /// <summary>The creator owns as many organizations as the plan allows.</summary>
    PlanLimitReached,
    /// <summary>Another organization holds the slug.</summary>
    SlugTaken,
}

/// <summary>Outcome of an organization operation, with the organization or member concerned.</summary>
[GenerateSerializer, Immutable, Alias("org-outcome.v1")]
public sealed record OrganizationOutcome(
    [property: Id(0)] OrganizationStatus Status,
    [property: Id(1)] OrganizationView? Organization = null,
    [property: Id(2)] MemberView? Member = null);

/// <summary>
/// A PATCH of an organization: a new name and/or slug (owners), and/or a new plan (system administrators: the caller
/// checked). Null fields stay as they are.
/// </summary>
[GenerateSerializer, Immutable, Alias("organization-update.v1")]
public sealed record OrganizationUpdate(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? Slug,
    [property: Id(2)] string? Plan);
