//! Every route as every role: allowed exactly when the role carries the
//! route's permission, else a 403 naming the permission.

use casting_client::{ActorPatch, ActorQuery, Client, Error, MoviePatch, MovieQuery, PageRequest};
use casting_core::{Permission, Role};

use crate::fixtures::{actor, movie};
use crate::server::TestServer;

/// The twelve routes that need a permission.
#[derive(Debug, Clone, Copy)]
enum Route {
    ListMovies,
    GetMovie,
    CreateMovie,
    UpdateMovie,
    DeleteMovie,
    SearchMovies,
    ListActors,
    GetActor,
    CreateActor,
    UpdateActor,
    DeleteActor,
    SearchActors,
}

const ROUTES: [Route; 12] = [
    Route::ListMovies,
    Route::GetMovie,
    Route::CreateMovie,
    Route::UpdateMovie,
    Route::DeleteMovie,
    Route::SearchMovies,
    Route::ListActors,
    Route::GetActor,
    Route::CreateActor,
    Route::UpdateActor,
    Route::DeleteActor,
    Route::SearchActors,
];

impl Route {
    fn permission(self) -> Permission {
        match self {
            Route::ListMovies | Route::GetMovie => Permission::GetMovies,
            Route::CreateMovie => Permission::PostMovies,
            Route::UpdateMovie => Permission::PatchMovies,
            Route::DeleteMovie => Permission::DeleteMovies,
            Route::SearchMovies => Permission::SearchMovies,
            Route::ListActors | Route::GetActor => Permission::GetActors,
            Route::CreateActor => Permission::PostActors,
            Route::UpdateActor => Permission::PatchActors,
            Route::DeleteActor => Permission::DeleteActors,
            Route::SearchActors => Permission::SearchActors,
        }
    }

    /// Calls the route as `client`; `producer` makes the records it needs.
    async fn call(self, client: &Client, producer: &Client) -> Result<(), Error> {
        let film = producer
            .create_movie(&movie("Target", "2010-10-13"))
            .await
            .unwrap();
        let cast = producer
            .create_actor(&actor("Target", 30, "Female", Some(film.id)))
            .await
            .unwrap();
        match self {
            Route::ListMovies => client.list_movies(PageRequest::first(5)).await.map(drop),
            Route::GetMovie => client.get_movie(film.id).await.map(drop),
            Route::CreateMovie => client
                .create_movie(&movie("New", "2020-02-02"))
                .await
                .map(drop),
            Route::UpdateMovie => client
                .update_movie(
                    film.id,
                    &MoviePatch {
                        title: Some("Changed".into()),
                        ..MoviePatch::default()
                    },
                )
                .await
                .map(drop),
            Route::DeleteMovie => client.delete_movie(film.id).await.map(drop),
            Route::SearchMovies => client.search_movies(&MovieQuery::default()).await.map(drop),
            Route::ListActors => client.list_actors(PageRequest::default()).await.map(drop),
            Route::GetActor => client.get_actor(cast.id).await.map(drop),
            Route::CreateActor => client
                .create_actor(&actor("New", 20, "Male", None))
                .await
                .map(drop),
            Route::UpdateActor => client
                .update_actor(
                    cast.id,
                    &ActorPatch {
                        age: Some(31),
                        ..ActorPatch::default()
                    },
                )
                .await
                .map(drop),
            Route::DeleteActor => client.delete_actor(cast.id).await.map(drop),
            Route::SearchActors => client.search_actors(&ActorQuery::default()).await.map(drop),
        }
    }
}

#[tokio::test]
async fn each_role_may_call_exactly_the_routes_its_permissions_allow() {
    let server = TestServer::start();
    let producer = server.client(Role::Producer);
    for role in Role::ALL {
        let client = server.client(role);
        for route in ROUTES {
            let permission = route.permission();
            let result = route.call(&client, &producer).await;
            if role.permissions().contains(permission) {
                assert!(result.is_ok(), "{role} {route:?}: {result:?}");
            } else {
                let Err(Error::Forbidden { message }) = result else {
                    panic!("{role} {route:?} should be forbidden: {result:?}");
                };
                assert!(message.contains(permission.as_str()), "{message}");
            }
        }
    }
}

#[tokio::test]
async fn a_director_may_change_a_movie_but_not_create_or_delete_one() {
    let server = TestServer::start();
    let film = server
        .client(Role::Producer)
        .create_movie(&movie("Universe", "2010-10-13"))
        .await
        .unwrap();
    let director = server.client(Role::Director);

    let changed = director
        .update_movie(
            film.id,
            &MoviePatch {
                title: Some("Changed".into()),
                ..MoviePatch::default()
            },
        )
        .await;
    let created = director.create_movie(&movie("New", "2020-02-02")).await;
    let deleted = director.delete_movie(film.id).await;

    assert_eq!(changed.unwrap().title, "Changed");
    assert!(
        matches!(created, Err(Error::Forbidden { .. })),
        "{created:?}"
    );
    assert!(
        matches!(deleted, Err(Error::Forbidden { .. })),
        "{deleted:?}"
    );
}
