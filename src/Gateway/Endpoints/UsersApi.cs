using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Users;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary><c>/v1/users</c>: the caller's own account.</summary>
public static class UsersApi
{
    private static readonly string[] ProfileFields = ["first_name", "last_name", "avatar_url"];
    private static readonly string[] FixedFields = ["email", "password", "role", "plan"];

    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/users").WithTags(ApiTags.Users).RequireCaller();

        group.MapGet("/", ListAsync)
            .Describe("listUsers", "List users",
                "The user directory: administrators see everyone; others see themselves and the users who share an organization with them.")
            .Paged()
            .WithQueryParameter<string>("search", "Matches email, username, first and last name (at most 100 characters).")
            .WithQueryParameter<string>("role", "Only users with this system role: user or admin.")
            .Produces<ListEnvelope<UserResponse>>()
            .ProducesErrors(400, 401, 403);
        group.MapGet("/me", GetMeAsync)
            .Describe("getMe", "Get your own account", "The caller's user, with its profile, role and plan. Answers If-None-Match with 304.")
            .WithContentETag()
            .Produces<DataEnvelope<UserResponse>>()
            .ProducesErrors(401, 403);
        group.MapPatch("/me", UpdateMeAsync)
            .Describe("updateMe", "Update your own account",
                "Changes the username and profile fields sent (JSON merge patch); email, password, role and plan cannot be changed here (400).")
            .Accepts<UpdateMeRequest>("application/json")
            .Produces<DataEnvelope<UserResponse>>()
            .ProducesErrors(400, 401, 403, 409, 413, 415);
        return routes;
    }

    /// <summary>
    /// The user directory: administrators see everyone; others see themselves and the users who share an
    /// organization with them. <c>search</c> matches email, username and names; <c>role</c> filters by system role.
    /// </summary>
    private static async Task<Ok<ListEnvelope<UserResponse>>> ListAsync(HttpContext context, GrainRefs grains)
    {
        var userId = context.GetCaller().RequireUser();
        var paging = Paging.From(context.Request);
        var search = QueryParameters.Single(context.Request, "search");
        if (search is { Length: > 100 })
        {
            throw ApiException.Invalid("search", "must be at most 100 characters");
        }

        var role = QueryParameters.Single(context.Request, "role");
        if (role is not null && !SystemRoles.IsValid(role))
        {
            throw ApiException.Invalid("role", $"must be '{SystemRoles.User}' or '{SystemRoles.Admin}'");
        }

        // The system role is read from the account, not the token, so a demotion takes effect at once.
        var me = await grains.Get<IUserGrain>(userId).GetAsync() ?? throw ApiException.NotFound("The user");
        var scope = me.Role == SystemRoles.Admin ? null : userId;
        var page = await grains.Get<IDirectoryGrain>(0).QueryUsersAsync(
            new DirectoryQuery(scope, search?.Trim(), role, paging.Offset, paging.PerPage));
        return TypedResults.Ok(new ListEnvelope<UserResponse>(page.Items.Select(UserResponse.From).ToList(),
            PageMeta.Of(paging.Page, paging.PerPage, page.Total)));
    }


    private static async Task<Ok<DataEnvelope<UserResponse>>> GetMeAsync(HttpContext context, GrainRefs grains)
    {
        var user = await grains.Get<IUserGrain>(context.GetCaller().RequireUser()).GetAsync()
            ?? throw ApiException.NotFound("The user");
        return TypedResults.Ok(new DataEnvelope<UserResponse>(UserResponse.From(user)));
    }

    private static async Task<Ok<DataEnvelope<UserResponse>>> UpdateMeAsync(HttpContext context, GrainRefs grains)
    {
        var userId = context.GetCaller().RequireUser();
        var body = await JsonBody.ReadAsync(context.Request);
        foreach (var field in FixedFields.Where(body.Has))
        {
            body.AddError(field, "cannot be changed through this endpoint");
        }

        var username = Validation.Username(body, required: false);
        if (body.IsNull("username"))
        {
            body.AddError("username", "cannot be null");
        }

        var profile = body.Object("profile");
        var update = AuthApi.ReadProfile(profile);
        body.ThrowIfInvalid();

        var user = grains.Get<IUserGrain>(userId);
        if (username is not null)
        {
            await ChangeUsernameAsync(grains, user, userId, username);
        }

        var cleared = profile is null ? [] : ProfileFields.Where(profile.IsNull).ToList();
        var view = await user.UpdateProfileAsync(new ProfileUpdate(update.FirstName, update.LastName, update.AvatarUrl, cleared))
            ?? throw ApiException.NotFound("The user");
        return TypedResults.Ok(new DataEnvelope<UserResponse>(UserResponse.From(view)));
    }

    /// <summary>Reserves the new name before taking it, and only then frees the old one.</summary>
    private static async Task ChangeUsernameAsync(GrainRefs grains, IUserGrain user, string userId, string username)
    {
        var current = await user.GetAsync() ?? throw ApiException.NotFound("The user");
        if (string.Equals(current.Username, username, StringComparison.Ordinal))
        {
            return;
        }

        var claim = grains.Get<IUniqueIndexGrain>(UniqueKeys.Username(username));
        var sameName = UniqueKeys.Username(username) == UniqueKeys.Username(current.Username);
        if (!sameName && !await claim.TryClaimAsync(userId))
        {
            throw ApiException.AlreadyExists("username", "This username is taken.");
        }

        await user.ChangeUsernameAsync(username);
        if (!sameName)
        {
            await claim.ConfirmAsync(userId);
            await grains.Get<IUniqueIndexGrain>(UniqueKeys.Username(current.Username)).ReleaseAsync(userId);
        }
    }
}
